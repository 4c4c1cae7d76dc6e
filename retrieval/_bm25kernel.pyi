# Type stub of the C extension retrieval/_bm25kernel.c (mypy cannot read C).
from collections.abc import Sequence
from typing import Any

from numpy.typing import NDArray

def top_k(
    terms: Sequence[tuple[int, float, float, int, int, float]],
    doc_ids: NDArray[Any],
    tf: NDArray[Any],
    gain: NDArray[Any],
    norm: NDArray[Any],
    mask: NDArray[Any] | None,
    k: int,
    k1: float,
    delta: float,
    tie: float,
) -> list[tuple[int, float]]: ...
