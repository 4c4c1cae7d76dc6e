"""A character language model for Chinese, built at run time from jieba's dictionary and clean texts.

The model scores one character at a time, left to right, and is the judge that mojibake repair
(:mod:`retrieval.repair`) asks when several characters could have lost the same bytes. It mixes two parts:

* a **lexicon model**: jieba's ``dict.txt``, plus the Chinese words of a jieba user dictionary when one is
  given (newsbot's ``config/userdict.txt`` knows 感受野 and 深假), read as a word-unigram model (each word
  ``w`` has ``P(w) = freq(w) / total``, which is jieba's own assumption), turned into a character model by summing
  over every segmentation of the text seen so far (a forward algorithm over "open" word prefixes). It knows
  which characters make words together, e.g. that ``起步`` is a word and ``起部`` is not;
* a **context model**: an interpolated Kneser-Ney character n-gram (Chen & Goodman 1998) over
  clean in-domain texts passed to :meth:`CharLM.with_context`. It knows the archive's own phrasing.

The probability of the next character is ``(1 - λ)·P_lexicon + λ·P_context`` (``λ = 0`` without context).
Nothing is shipped: the statistics come from jieba's dictionary files and from the texts the caller passes in.
"""

from __future__ import annotations

import functools
import math
from collections import ChainMap, Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from retrieval._jieba import jieba
from retrieval.lexical import is_cjk_word
from retrieval.text import parse_userdict

__all__ = ["CharLM", "LMState", "jieba_dict_path"]

_MAX_WORD = 8
"""Longest dictionary word used. Longer entries are idioms and names that add memory but no accuracy."""
_KN_DISCOUNT = 0.75
_UNIGRAM_EXTRA = 1000
"""The context unigram is smoothed towards a uniform distribution over this many unseen characters."""

# (prefix, weight) pairs: each is a word that started where the weight says and is still a dictionary prefix.
_Open = tuple[tuple[str, float], ...]


class LMState(NamedTuple):
    """Where the model is after some text: open word prefixes, boundary mass and the last few characters.

    A NamedTuple rather than a frozen dataclass: the decoder makes hundreds of thousands of these.
    """

    open: _Open
    boundary: float
    """Probability mass, given the text so far, that a word ends exactly here."""
    history: str
    """The last ``order - 1`` characters, for the context n-gram."""


def jieba_dict_path() -> Path:
    """The ``dict.txt`` bundled with the installed jieba package."""
    return Path(jieba.__file__).resolve().parent / "dict.txt"


@dataclass(frozen=True, slots=True)
class _Lexicon:
    prefix_mass: dict[str, float]
    """Sum of ``P(w)`` over the dictionary words that start with the key."""
    word_prob: dict[str, float]
    oov: float
    """Probability of a character that starts no dictionary word, as a one-character word (jieba uses freq 1)."""


def _read_dict(dict_path: Path) -> dict[str, int]:
    """``word -> freq`` from a jieba dictionary file (``word freq [tag]`` per line)."""
    freqs: dict[str, int] = {}
    with dict_path.open(encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                freqs[parts[0]] = freqs.get(parts[0], 0) + int(parts[1])
    return freqs


def _suggest_freq(word: str, freqs: Mapping[str, int], total: int) -> int:
    """jieba's ``suggest_freq(word, False)``: just enough for ``word`` to beat its best split into known words.

    It is what ``jieba.load_userdict`` gives a line without a frequency.

    >>> _suggest_freq("甲乙", {"甲": 10, "乙": 10}, 100)
    2
    """
    n = len(word)
    best = [0.0] * (n + 1)  # best[i]: probability of the likeliest split of word[:i] (jieba's DAG route)
    best[0] = 1.0
    for i in range(1, n + 1):
        for j in range(max(0, i - _MAX_WORD), i):
            if i - j == n:
                continue  # the split must not be the word itself
            f = freqs.get(word[j:i], 0) or (1 if i - j == 1 else 0)
            if f:
                best[i] = max(best[i], best[j] * f / total)
    return max(int(best[n] * total) + 1, freqs.get(word, 1))


def _user_freqs(userdict_text: str, base: dict[str, int]) -> dict[str, int]:
    """The Chinese words of a jieba user dictionary with their frequencies, as ``jieba.load_userdict`` sets them.

    Words are normalized like the analyzer's (:func:`retrieval.text.parse_userdict`). A user word replaces
    the dictionary's frequency for the same word; a line without a frequency gets jieba's suggested one.
    Other words (``gpt-3``, ``vit``) never meet the model, which only decides between Chinese characters.
    """
    words: dict[str, int] = {}
    known = ChainMap(words, base)
    total = sum(base.values())
    for uw in parse_userdict(userdict_text):
        if is_cjk_word(uw.word):
            freq = uw.freq if uw.freq is not None else _suggest_freq(uw.word, known, total)
            total += freq - known.get(uw.word, 0)
            words[uw.word] = freq
    return words


def _build_lexicon(freqs: dict[str, int], extra: dict[str, int] | None = None) -> _Lexicon:
    """The lexicon of ``freqs`` with ``extra`` (user words) replacing or adding entries."""
    if extra:
        freqs = {**freqs, **extra}
    total = float(sum(freqs.values())) or 1.0
    prefix_mass: dict[str, float] = {}
    word_prob: dict[str, float] = {}
    for word, freq in freqs.items():
        if len(word) > _MAX_WORD or freq <= 0:
            continue
        p = freq / total
        word_prob[word] = p
        for k in range(1, len(word) + 1):
            key = word[:k]
            prefix_mass[key] = prefix_mass.get(key, 0.0) + p
    return _Lexicon(prefix_mass, word_prob, 1.0 / total)


@dataclass(frozen=True, slots=True)
class _NGrams:
    """Interpolated Kneser-Ney statistics: raw counts at the top order, continuation counts below."""

    order: int
    counts: dict[str, int]
    """n-gram -> count; the key's length is its order."""
    totals: dict[str, int]
    """history -> sum of the counts of the n-grams that extend it."""
    types: dict[str, int]
    """history -> number of distinct characters seen after it."""
    vocab: int

    @classmethod
    def build(cls, texts: Iterable[str], order: int) -> _NGrams:
        top: Counter[str] = Counter()
        seen: list[set[str]] = [set() for _ in range(order + 1)]
        for text in texts:
            # Start/end markers give the first and last characters a left/right neighbour to count.
            s = "\x02" + text + "\x03"
            for k in range(2, order + 1):
                seen[k].update(s[i : i + k] for i in range(len(s) - k + 1))
            top.update(s[i : i + order] for i in range(len(s) - order + 1))
        counts: dict[str, int] = dict(top)
        # Lower orders use continuation counts N1+(• w): how many distinct characters precede w.
        for k in range(1, order):
            cont: Counter[str] = Counter(g[1:] for g in seen[k + 1])
            counts.update(cont)
        totals: Counter[str] = Counter()
        types: Counter[str] = Counter()
        for g, c in counts.items():
            totals[g[:-1]] += c
            types[g[:-1]] += 1
        return cls(order, counts, dict(totals), dict(types), types.get("", 0))

    def prob(self, history: str, ch: str) -> float:
        counts, totals, types = self.counts, self.totals, self.types
        total = totals.get("")
        if not total:
            return 1.0 / (_UNIGRAM_EXTRA + 1)
        v = self.vocab
        p = (counts.get(ch, 0) + v / (v + _UNIGRAM_EXTRA)) / (total + v)
        for k in range(1, min(len(history), self.order - 1) + 1):
            h = history[-k:]
            total = totals.get(h)
            if not total:
                break
            c = counts.get(h + ch, 0)
            p = max(c - _KN_DISCOUNT, 0.0) / total + _KN_DISCOUNT * types[h] / total * p
        return p


class CharLM:
    """Next-character probabilities from jieba's dictionary, plus optional in-domain context.

    The dictionary part is built once per process and user dictionary by :meth:`from_jieba` (about a second
    and 100 MB); derive per-archive models from it with :meth:`with_context`, which share it.

    >>> lm = CharLM.from_jieba()
    >>> lm.logprob("机器学习") > lm.logprob("机器字习")
    True
    >>> lm.with_context(["深假是一个新词。"] * 3).logprob("深假") > lm.logprob("深假")
    True
    """

    order = 4
    """Order of the context n-gram: orders 4-6 tie on seed 000, and 4 is best on the issue-34 hold-out."""
    context_weight = 0.6
    """λ, the share of a large context model: 0.6 and 0.7 tie on both seed articles, 0.5 is worse on the hold-out."""
    context_half = 5000
    """Context characters at which λ reaches half of :attr:`context_weight`: a few sentences of context
    are a poor n-gram model and must not outvote the dictionary."""

    def __init__(self, lexicon: _Lexicon, context_texts: tuple[str, ...] = ()) -> None:
        self._lex = lexicon
        self._context_texts = context_texts
        self._ngrams = _NGrams.build(context_texts, self.order) if context_texts else None
        size = sum(len(t) for t in context_texts)
        self._lam = self.context_weight * size / (size + self.context_half)

    @classmethod
    def from_jieba(cls, userdict: Path | None = None) -> CharLM:
        """The dictionary-only model: the installed jieba's ``dict.txt``, plus the Chinese words of ``userdict``.

        ``userdict`` is a jieba user dictionary (``word [freq] [tag]``), read like the analyzer reads it
        (:func:`retrieval.text.load_userdict`); its words enter the word model with their frequencies.
        The same object is returned for the same dictionary content, in this process.
        Not cached on disk: loading a marshal dump of the tables measured 0.64 s against 1.0 s to rebuild.
        """
        return _jieba_model(userdict.read_text(encoding="utf-8") if userdict is not None else None)

    def with_context(self, texts: Iterable[str]) -> CharLM:
        """A new model that also learns from these clean texts (on top of any context this one has)."""
        return CharLM(self._lex, self._context_texts + tuple(t for t in texts if t))

    @property
    def has_context(self) -> bool:
        return self._ngrams is not None

    def start(self, history: str = "") -> LMState:
        """The state after ``history`` (only its last few characters matter)."""
        state = LMState((), 1.0, "")
        for ch in history[-(_MAX_WORD + 4) :]:
            _, state = self.step(state, ch)
        return state

    def step(self, state: LMState, ch: str) -> tuple[float, LMState]:
        """``P(ch | state)`` and the state after ``ch``."""
        lex = self._lex
        pm = lex.prefix_mass
        wp = lex.word_prob
        grown: list[tuple[str, float]] = []
        z = 0.0
        for prefix, weight in state.open:
            longer = prefix + ch
            m = pm.get(longer)
            if m:
                grown.append((longer, weight))
                z += weight * m
        # A new word may start here, with the mass of the words that just ended.
        grown.append((ch, state.boundary))
        z += state.boundary * (pm.get(ch, 0.0) + lex.oov)
        p_lex = z
        boundary = 0.0
        opened: list[tuple[str, float]] = []
        if z > 0.0:
            for prefix, weight in grown:
                w = weight / z
                opened.append((prefix, w))
                boundary += w * (wp.get(prefix, 0.0) + (lex.oov if len(prefix) == 1 else 0.0))
        history = (state.history + ch)[-(self.order - 1) :]
        if self._ngrams is None:
            p = p_lex
        else:
            p = (1.0 - self._lam) * p_lex + self._lam * self._ngrams.prob(state.history, ch)
        return p, LMState(tuple(opened), boundary, history)

    def logprob(self, text: str, history: str = "") -> float:
        """Natural-log probability of ``text`` after ``history``."""
        state = self.start(history)
        total = 0.0
        for ch in text:
            p, state = self.step(state, ch)
            total += math.log(p) if p > 0.0 else -1e9
        return total


@functools.cache
def _jieba_model(userdict_text: str | None) -> CharLM:
    """Memoised on the user dictionary's content (not its path), so an edited file gives a new model."""
    base = _read_dict(jieba_dict_path())
    return CharLM(_build_lexicon(base, _user_freqs(userdict_text, base) if userdict_text else None))
