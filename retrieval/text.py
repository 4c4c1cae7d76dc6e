"""The one text analyzer used for indexing AND for queries.

Pipeline (both sides, identical)::

    normalize  NFKC (full width -> half width), casefold, traditional -> simplified (OpenCC t2s)
    split      CJK runs | word runs (Latin letters, digits, kana ...); everything else
               (spaces, punctuation, emoji, control characters) separates tokens and is dropped
    segment    CJK runs: our own jieba.Tokenizer (user dictionary, HMM pinned);
               word runs: split_word_run() keeps gpt-3 / resnet-50 / 2106.10860 / 16x16 whole
    sub-words  each token also yields its sub-words (see below), so 学习 matches 深度学习
    stem       optional (``english_stemming``): an English word's Snowball stem joins its sub-words
               (patches -> patch, borrowing -> borrow), so either form finds the other
    filter     stop words (a stop-word token takes its sub-words with it)

Why our own sub-words and not ``cut_for_search``: cut_for_search emits every dictionary bigram and
trigram inside a long word, including ones that straddle its parts (自监督学习 -> 督学, "school
inspector"). We emit only (a) the word's best split into dictionary words, with the whole word
forbidden, recursively (自监督学习 -> 自 + 监督 + 学习), and (b) dictionary words that are a prefix
or suffix of it (照相机 -> 照相, 相机; Chinese compounds are right-headed, so the suffix is usually
the thing itself). A hyphenated word run yields its letter parts and its joined form
(gpt-3 -> gpt, gpt3), so "GPT" finds GPT-3 and "resnet50" finds ResNet-50.

The dictionary-free steps (normalize, split, word-run tokens and their sub-words) are in
:mod:`retrieval.lexical`; this module adds jieba, the user dictionary and the stop words.

An :class:`Analyzer` is built from an :class:`AnalyzerConfig`, which is a small picklable value:
a worker process rebuilds an equivalent analyzer from it (``pickle`` does exactly that, see
``Analyzer.__reduce__``).
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import logging
import marshal
import re
import tempfile
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from retrieval._jieba import jieba
from retrieval.errors import DataFileError
from retrieval.jiebadict import SplitDictionary, load_split, save_split
from retrieval.lexical import NORMALIZATION_VERSION, dedupe, is_cjk_word, normalize, split_runs, split_word_run
from retrieval.segment import cut_han
from retrieval.stemming import EnglishStemmer

__all__ = [
    "SEGMENTATION_MODE",
    "Analyzer",
    "AnalyzerConfig",
    "UserWord",
    "load_stopwords",
    "load_userdict",
    "parse_userdict",
]

# Names the segmentation + sub-word scheme; also part of the fingerprint.
SEGMENTATION_MODE = "jieba-cut+affix-partition-subwords+version-stems/v2"

_TAG_RE = re.compile(r"[a-z]+")

_JIEBA_VERSION: str = str(getattr(jieba, "__version__", "unknown"))
_JIEBA_CACHE_FILE = f"jieba-{_JIEBA_VERSION}.cache"
_RUN_MEMO_SIZE = 100_000
"""Runs whose index tokens an analyzer keeps (emptied when full): bounded memory, most repeats still found."""


def _initialize_jieba(tk: Any, words: list[UserWord]) -> SplitDictionary | None:
    """``tk.initialize()`` and ``tk.add_word`` for each of ``words``, reading jieba's dictionary cache in one piece
    when it is there.

    jieba's own ``marshal.load(file)`` reads its 9 MB cache object by object, one buffered read each: about
    0.7 s of every start-up, where ``marshal.loads`` on the file's bytes takes about 0.25 s. Same file, same
    dictionary (for the default dictionary, which ours is, jieba too reads the cache whenever it exists); a
    missing or unreadable cache is left to jieba, which rebuilds and rewrites it. Once loaded, the dictionary is
    also saved split by first character, with the user words added, and later starts with the same user words read
    that instead, part by part (:mod:`retrieval.jiebadict`).
    """
    added = hashlib.sha256("\n".join(f"{w.word} {w.freq} {w.tag}" for w in words).encode()).hexdigest()[:16]
    split_file = Path(tk.tmp_dir) / f"jieba-{_JIEBA_VERSION}-{added}.split"
    saved = load_split(split_file)
    if saved is not None:  # read part by part as texts need it (retrieval.jiebadict)
        split, tk.total = saved
        tk.FREQ = split.freq
        tk.initialized = True
        for w in words:  # what add_word keeps besides the counts (only jieba.posseg reads it)
            if w.tag:
                tk.user_word_tag_tab[w.word] = w.tag
        return split
    try:
        freq, total = marshal.loads((Path(tk.tmp_dir) / tk.cache_file).read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        freq = total = None
    if isinstance(freq, dict) and isinstance(total, int):
        tk.FREQ, tk.total = freq, total
        tk.initialized = True
    else:
        tk.initialize()
    for w in words:
        tk.add_word(w.word, w.freq, w.tag)
    save_split(split_file, tk.FREQ, tk.total)
    return None


@dataclass(frozen=True)
class UserWord:
    """One line of the user dictionary (jieba format ``word [freq] [tag]``)."""

    word: str
    freq: int | None
    tag: str | None


def read_data_file(path: Path, what: str) -> bytes:
    """The bytes of a term-list file, or a :class:`DataFileError` that names it and says what is wrong."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise DataFileError(f"{path}: is a folder, not a {what}") from None
    except OSError as err:
        raise DataFileError(f"{path}: {what} cannot be read ({err.strerror or err})") from None


def decode_data_file(data: bytes, path: Path, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DataFileError(f"{path}: {what} is not UTF-8 text") from None


def load_userdict(path: Path) -> list[UserWord]:
    """Parse and validate a jieba user dictionary; a bad line raises :class:`DataFileError` naming it."""
    return parse_userdict(decode_data_file(read_data_file(path, "user dictionary"), path, "user dictionary"),
                          str(path))


def parse_userdict(text: str, source: str = "<userdict>") -> list[UserWord]:
    """Parse jieba user-dictionary text (see :func:`load_userdict`).

    Words are normalized (lower case, simplified, half width) and must be one run: a space can
    never match inside jieba, and a mixed 中文/ASCII word would be split before jieba sees it.

    >>> words = parse_userdict("GPT-3 2000 eng\\n自監督學習 2000 nz\\nViT")
    >>> [(w.word, w.freq, w.tag) for w in words]
    [('gpt-3', 2000, 'eng'), ('自监督学习', 2000, 'nz'), ('vit', None, None)]
    """
    words: list[UserWord] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        where = f"{source}:{lineno}: {line!r}"
        fields = line.split()
        if len(fields) > 3:
            raise DataFileError(f"{where}: expected 'word [freq] [tag]' (words cannot contain spaces)")
        # Lower-cased (normalized) here, because the analyzer cuts normalized text.
        word = normalize(fields[0])
        freq: int | None = None
        tag: str | None = None
        for field in fields[1:]:
            if field.isdigit() and freq is None and tag is None:
                freq = int(field)
            elif _TAG_RE.fullmatch(field) and tag is None:
                tag = field
            else:
                raise DataFileError(f"{where}: bad field {field!r}")
        if freq == 0:
            # jieba treats freq 0 as "force split" in its *global* HMM state: never from a file.
            raise DataFileError(f"{where}: freq must be positive")
        runs = list(split_runs(word))
        if len(runs) != 1 or runs[0][0] != word:
            raise DataFileError(f"{where}: must be one CJK run or one word run (no mixed scripts)")
        words.append(UserWord(word, freq, tag))
    return words


def load_stopwords(path: Path) -> frozenset[str]:
    """One stop word per line, normalized; blank lines and ``#`` comment lines are ignored."""
    words: set[str] = set()
    text = decode_data_file(read_data_file(path, "stop-word list"), path, "stop-word list")
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        if any(ch.isspace() for ch in line):
            raise DataFileError(f"{path}:{lineno}: {line!r}: one stop word per line")
        words.add(normalize(line))
    return frozenset(words)


@dataclass(frozen=True)
class AnalyzerConfig:
    """Everything needed to build an :class:`Analyzer`; picklable, so it can go to a worker."""

    userdict: Path
    stopwords: Path
    cache_dir: Path
    hmm: bool = True
    english_stemming: bool = False
    """Add each English word's Snowball stem as a sub-word (see :class:`retrieval.settings.Ranking`)."""


class Analyzer:
    """Tokenizer for index and queries; see the module docstring for the pipeline.

    Building one loads jieba's dictionary (about a second), so build it once per process.
    """

    def __init__(self, config: AnalyzerConfig) -> None:
        self._config = config
        self._hmm = config.hmm
        # jieba logs every dictionary load at DEBUG to stderr through its own handler.
        logging.getLogger("jieba").setLevel(logging.WARNING)
        config.cache_dir.mkdir(parents=True, exist_ok=True)
        # Our own instance: the global jieba.dt may be shared with (and altered by) other code.
        self._tk: Any = jieba.Tokenizer()
        self._tk.tmp_dir = str(config.cache_dir)
        self._tk.cache_file = _JIEBA_CACHE_FILE
        # Read once: the fingerprint must describe exactly the bytes that were loaded.
        userdict_bytes = read_data_file(config.userdict, "user dictionary")
        self._userwords = parse_userdict(decode_data_file(userdict_bytes, config.userdict, "user dictionary"),
                                         str(config.userdict))
        self._split = _initialize_jieba(self._tk, [w for w in self._userwords if is_cjk_word(w.word)])
        """jieba's dictionary when read part by part: each text's parts are added before jieba sees it."""
        # Word runs never reach jieba; split_word_run keeps these whole instead.
        self._keep = frozenset(w.word for w in self._userwords if not is_cjk_word(w.word))
        self._stopwords = load_stopwords(config.stopwords)
        self._subword_cache: dict[str, tuple[str, ...]] = {}
        self._run_tokens: dict[str, tuple[str, ...]] = {}
        self._cache_lock = threading.Lock()
        self._stemmer = EnglishStemmer() if config.english_stemming else None
        self._fingerprint = self._compute_fingerprint(userdict_bytes)

    def __reduce__(self) -> tuple[type[Analyzer], tuple[AnalyzerConfig]]:
        # A jieba Tokenizer holds a lock and cannot be pickled; rebuild from the config instead.
        return (Analyzer, (self._config,))

    @property
    def config(self) -> AnalyzerConfig:
        return self._config

    @property
    def stopwords(self) -> frozenset[str]:
        return self._stopwords

    @property
    def user_words(self) -> tuple[UserWord, ...]:
        return tuple(self._userwords)

    @property
    def fingerprint(self) -> str:
        """A stable hash of everything that changes tokens; store it beside an index."""
        return self._fingerprint

    def _compute_fingerprint(self, userdict_bytes: bytes) -> str:
        digest = hashlib.sha256()
        main_dict = resources.files("jieba").joinpath("dict.txt").read_bytes()
        for part in (
            b"newsbot-analyzer",
            f"jieba={_JIEBA_VERSION}".encode(),
            f"opencc={_dist_version('opencc')}".encode(),
            f"unicode={unicodedata.unidata_version}".encode(),
            f"normalization={NORMALIZATION_VERSION}".encode(),
            f"mode={SEGMENTATION_MODE}".encode(),
            f"hmm={self._hmm}".encode(),
            main_dict,
            userdict_bytes,
            "\n".join(sorted(self._stopwords)).encode(),
            # Only when on, so that turning it off leaves every fingerprint (and token store) as it was.
            *([f"english-stemming={self._stemmer.version}".encode()] if self._stemmer else []),
        ):
            # Length-prefix each part so that moving bytes between parts changes the hash.
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.hexdigest()

    def for_bulk(self) -> None:
        """Before tokenizing many texts: jieba's whole dictionary in one dict, instead of part by part."""
        if self._split is not None:
            self._split.load_all()

    def load_dictionary_later(self) -> None:
        """Read the rest of jieba's dictionary in a background thread (after a first answer)."""
        if self._split is not None:
            self._split.load_all_later()

    def normalize(self, text: str) -> str:
        return normalize(text)

    def word_frequency(self, word: str) -> int:
        """jieba's dictionary count for ``word`` (0 if unknown); a rough prior for how common it is."""
        if self._split is not None:
            self._split.ensure(word)
        return int(self._tk.FREQ.get(word) or 0)

    def is_stopword(self, token: str) -> bool:
        return token in self._stopwords

    def index_tokens(self, text: str) -> list[str]:
        """Tokens to index: each kept token followed by its kept sub-words (repeats kept for tf).

        >>> analyzer = _doctest_analyzer()
        >>> analyzer.index_tokens("自监督学习（SSL）与对比学习")
        ['自监督学习', '自监督', '监督学习', '监督', '学习', 'ssl', '对比学习', '对比', '学习']
        >>> analyzer.index_tokens("Self-attention in GPT-3 and ResNet-50.")
        ['self', 'attention', 'gpt-3', 'gpt', 'gpt3', 'resnet-50', 'resnet', 'resnet50']
        >>> analyzer.index_tokens("ViT的分类行为比CNN更像人类")
        ['vit', '分类', '行为', 'cnn', '像', '人类']
        """
        out: list[str] = []
        memo = self._run_tokens
        for run, cjk in split_runs(normalize(text)):
            # A run's tokens depend on the run alone, and runs repeat (about a fifth of a large archive's text).
            tokens = memo.get(run)
            if tokens is None:
                tokens = tuple(self._flatten(self._analyze_run(run, cjk)))
                if len(memo) >= _RUN_MEMO_SIZE:
                    memo.clear()
                memo[run] = tokens
            out.extend(tokens)
        return out

    def _flatten(self, pairs: Iterable[tuple[str, tuple[str, ...]]]) -> list[str]:
        out: list[str] = []
        for token, subwords in pairs:
            out.append(token)
            out.extend(s for s in subwords if s not in self._stopwords)
        return out

    def query_parts(self, text: str) -> tuple[list[str], list[tuple[str, tuple[str, ...]]]]:
        """:meth:`query_tokens` and :meth:`analyze` of one question from one jieba pass (an answer needs both).

        >>> analyzer = _doctest_analyzer()
        >>> analyzer.query_parts("对比学习") == (analyzer.query_tokens("对比学习"), analyzer.analyze("对比学习"))
        True
        """
        pairs = list(self._analyze(text))
        return dedupe(self._flatten(pairs)), pairs

    def query_tokens(self, text: str) -> list[str]:
        """The index pipeline, deduplicated in first-seen order (BM25 counts repeats twice).

        >>> analyzer = _doctest_analyzer()
        >>> analyzer.query_tokens("哪一期讲了不用乘法的矩阵乘积？")
        ['不用', '乘法', '矩阵', '乘积']
        >>> analyzer.query_tokens("Which issue covered CutMix and MixUp? CutMix!")
        ['cutmix', 'mixup']
        """
        return dedupe(self.index_tokens(text))

    def base_tokens(self, text: str) -> list[str]:
        """Kept tokens without sub-words, in order (for glossary keys and renderings).

        >>> _doctest_analyzer().base_tokens("深度学习与視覺變形金剛")
        ['深度学习', '视觉变形金刚']
        """
        # Sub-words are not wanted here, so not computed (each is a jieba route): the glossary's start-up.
        return [token for run, cjk in split_runs(normalize(text))
                for token, _ in self._analyze_run(run, cjk, with_subwords=False)]

    def analyze(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """``(token, sub_words)`` pairs after stop-word filtering (sub-words not yet filtered)."""
        return list(self._analyze(text))

    def _analyze(self, text: str) -> Iterator[tuple[str, tuple[str, ...]]]:
        for run, cjk in split_runs(normalize(text)):
            yield from self._analyze_run(run, cjk)

    def _analyze_run(self, run: str, cjk: bool, *, with_subwords: bool = True) -> Iterator[tuple[str, tuple[str, ...]]]:
        if cjk:
            if self._split is not None:  # every fragment jieba looks up (sub-words too) starts inside the run
                self._split.ensure(run)
            words = cut_han(self._tk, run) if self._hmm else self._tk.cut(run, HMM=False)
            # isalnum() drops code points this Python's Unicode tables leave unassigned.
            pairs: Iterable[tuple[str, tuple[str, ...]]] = (
                (word, self._subwords(word) if with_subwords else ()) for word in words if word.isalnum()
            )
        else:
            pairs = split_word_run(run, self._keep)
            if self._stemmer is not None:
                pairs = self._stemmer.add_stems(pairs)
        for token, subwords in pairs:
            # jieba returns only characters of the run, but stay defensive about blanks.
            if token.strip() and token not in self._stopwords:
                yield token, subwords

    def _subwords(self, word: str) -> tuple[str, ...]:
        if len(word) < 3:
            return ()
        cached = self._subword_cache.get(word)
        if cached is None:
            cached = self._compute_subwords(word)
            with self._cache_lock:
                if len(self._subword_cache) > 200_000:
                    self._subword_cache.clear()
                self._subword_cache[word] = cached
        return cached

    def _compute_subwords(self, word: str) -> tuple[str, ...]:
        freq = self._tk.FREQ
        n = len(word)
        found: dict[tuple[int, int], str] = {}
        for length in range(2, n):
            if freq.get(word[:length]):
                found[(0, -length)] = word[:length]
            if freq.get(word[n - length :]):
                found[(n - length, -length)] = word[n - length :]
        for start, piece in self._partition(word):
            if len(piece) > 1:
                found[(start, -len(piece))] = piece
                for sub in self._subwords(piece):
                    found.setdefault((start + piece.find(sub), -len(sub)), sub)
        return tuple(dedupe(found[key] for key in sorted(found)))

    def _partition(self, word: str) -> list[tuple[int, str]]:
        # jieba's max-probability route over the word's DAG, with the whole-word edge removed.
        dag: dict[int, list[int]] = self._tk.get_DAG(word)
        last = len(word) - 1
        dag[0] = [end for end in dag[0] if end != last] or [0]
        route: dict[int, tuple[float, int]] = {}
        self._tk.calc(word, dag, route)
        pieces: list[tuple[int, str]] = []
        start = 0
        while start < len(word):
            end = route[start][1] + 1
            pieces.append((start, word[start:end]))
            start = end
        return pieces


@functools.cache
def _doctest_analyzer() -> Analyzer:
    # For doctests and the REPL only: the repository's config/ and a per-user temporary cache.
    config_dir = Path(__file__).resolve().parent.parent / "config"
    cache_dir = Path(tempfile.gettempdir()) / f"newsbot-doctest-{getpass.getuser()}"
    return Analyzer(AnalyzerConfig(config_dir / "userdict.txt", config_dir / "stopwords.txt", cache_dir))


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"
