"""retrieval.segment.cut_han gives jieba's own words (accurate mode, HMM on) for every run it is given."""

from __future__ import annotations

import random
from typing import Any

import pytest

from retrieval.segment import cut_han
from retrieval.text import _doctest_analyzer


@pytest.fixture(scope="module")
def tk() -> Any:
    # The analyzer's own tokenizer: jieba's dictionary plus the project's user dictionary, all of it loaded.
    analyzer = _doctest_analyzer()
    analyzer.for_bulk()
    return analyzer._tk


def _runs(tk: Any, n: int, seed: int) -> list[str]:
    """Runs made of dictionary words, their prefixes and stray characters, so that every branch of the route
    (long words, prefixes that are not words, lone characters, unknown pairs for the HMM, ties) is taken."""
    rng = random.Random(seed)
    words = sorted(w for w in tk.FREQ if all("\u4e00" <= c <= "\u9fd5" for c in w))
    chars = sorted({c for w in words[:: max(1, len(words) // 4000)] for c in w})
    runs = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            pick = rng.random()
            if pick < 0.6:
                parts.append(rng.choice(words))
            else:
                parts.append("".join(rng.choice(chars) for _ in range(rng.randint(1, 4))))
        runs.append("".join(parts))
    return runs


def test_cut_han_matches_jieba_on_random_runs(tk: Any) -> None:
    for run in _runs(tk, 3000, seed=21):
        assert cut_han(tk, run) == list(tk.cut(run, HMM=True)), run


@pytest.mark.parametrize("run", ["", "的", "中华人民共和国", "他来到了网易杭研大厦", "小明硕士毕业于中国科学院计算所",
                                 "㐀中文", "中文𠀀", "鿿鿿"])
def test_cut_han_matches_jieba_on_edge_runs(tk: Any, run: str) -> None:
    assert cut_han(tk, run) == list(tk.cut(run, HMM=True))


def test_the_analyzer_s_run_memo_does_not_change_tokens() -> None:
    analyzer = _doctest_analyzer()
    text = "自监督学习（SSL）与对比学习。自监督学习 again, GPT-3 and 自监督学习"
    first = analyzer.index_tokens(text)
    again = analyzer.index_tokens(text)  # every run now comes from the memo
    assert first == again
    assert first == analyzer._flatten(analyzer._analyze(text))
