"""The tests' own account of the lossy cp1254 recipe (``corpus/SEEDS.md`` in the shared folder): which bytes it
drops, and so which characters of a text it damages. An oracle written apart from the product's code on purpose."""

from __future__ import annotations

CP1254_DROPPED = frozenset({0x81, 0x8D, 0x8E, 0x8F, 0x90, 0x9D, 0x9E, 0xAD})
"""The bytes the recipe drops: undefined in cp1254, and the soft hyphen."""


def lost_bytes(text: str) -> int:
    """Characters of ``text`` that the recipe damages (a continuation byte is dropped).

    >>> lost_bytes("abc"), lost_bytes("变压器")  # 变 E5 8F 98 and 压 E5 8E 8B lose a byte; 器 E5 99 A8 does not
    (0, 2)
    >>> lost_bytes("中文")  # 中 is E4 B8 AD: its soft-hyphen byte is dropped; 文 (E6 96 87) survives
    1
    """
    return sum(1 for ch in text if any(b in CP1254_DROPPED for b in ch.encode("utf-8")[1:]))
