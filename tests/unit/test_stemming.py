"""English stems (``search.english_stemming``): retrieval/stemming.py, the analyzer's use of it, and the engine."""

from __future__ import annotations

import pickle
import threading
from dataclasses import replace
from pathlib import Path

import msgspec
import pytest

from retrieval.archive import load_archive
from retrieval.search import SearchEngine
from retrieval.stemming import EnglishStemmer
from retrieval.text import Analyzer, AnalyzerConfig

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> AnalyzerConfig:
    return AnalyzerConfig(userdict=REPO / "config" / "userdict.txt", stopwords=REPO / "config" / "stopwords.txt",
                          cache_dir=tmp_path_factory.mktemp("stem-cache"))


@pytest.fixture(scope="module")
def plain(config: AnalyzerConfig) -> Analyzer:
    return Analyzer(config)


@pytest.fixture(scope="module")
def stemming(config: AnalyzerConfig) -> Analyzer:
    return Analyzer(replace(config, english_stemming=True))


@pytest.mark.parametrize(("word", "stem"), [
    ("patches", "patch"), ("borrowing", "borrow"), ("crates", "crate"), ("generics", "generic"),
    ("compiler", "compil"), ("compilation", "compil"),
])
def test_english_words_get_their_stem(word: str, stem: str) -> None:
    assert EnglishStemmer().stem(word) == stem


@pytest.mark.parametrize("word", ["rust", "async", "tokio", "gpt-3", "v1.8", "2024", "was", "ies", "对比学习", "über"])
def test_no_stem_for_words_that_keep_their_form_short_words_and_non_ascii(word: str) -> None:
    # "was" and "ies" are under four letters; gpt-3, v1.8 and 2024 are not plain words; über is not ASCII.
    assert EnglishStemmer().stem(word) is None


def test_stem_is_a_sub_word_so_the_word_itself_stays(plain: Analyzer, stemming: Analyzer) -> None:
    assert plain.index_tokens("Borrowing patches") == ["borrowing", "patches"]
    assert stemming.index_tokens("Borrowing patches") == ["borrowing", "borrow", "patches", "patch"]
    assert stemming.base_tokens("Borrowing patches") == ["borrowing", "patches"]  # glossary keys see words
    # Chinese text and version names are untouched.
    assert stemming.index_tokens("对比学习 GPT-3") == plain.index_tokens("对比学习 GPT-3")


def test_the_fingerprint_changes_only_when_stemming_is_on(config: AnalyzerConfig, plain: Analyzer,
                                                          stemming: Analyzer) -> None:
    assert stemming.fingerprint != plain.fingerprint
    # Off is the analyzer as it was before the setting existed: its token store is still valid.
    assert Analyzer(replace(config, english_stemming=False)).fingerprint == plain.fingerprint


def test_a_worker_process_rebuilds_a_stemming_analyzer(stemming: Analyzer) -> None:
    # Token-store workers get the analyzer by pickling its config; the stems must come along.
    clone = pickle.loads(pickle.dumps(stemming))
    assert clone.fingerprint == stemming.fingerprint
    assert clone.index_tokens("Borrowing patches") == stemming.index_tokens("Borrowing patches")


def test_threads_share_one_stemmer() -> None:
    stemmer = EnglishStemmer()
    words = [f"{w}{s}" for w in ("patch", "crate", "borrow", "compil") for s in ("es", "s", "ing", "ed")] * 50
    expected = [EnglishStemmer().stem(w) for w in words]
    results: list[list[str | None]] = []

    def run() -> None:
        results.append([stemmer.stem(w) for w in words])

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


ISSUE = """# This Week in Testing 12

## Borrowing across crates

[Borrowing across crates](https://example.com/borrow): how a workspace section resolves.

## Faster compilation

[Faster compilation](https://example.com/compile): the build got quicker.

## Something unrelated

[Something unrelated](https://example.com/other): gardening notes.
"""


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> tuple[SearchEngine, SearchEngine]:
    from bot.config import load_config
    from bot.library import search_settings

    settings = search_settings(load_config(env={}, storage__cache_dir=str(tmp_path_factory.mktemp("stem-engine"))))
    folder = tmp_path_factory.mktemp("stem-archive")
    (folder / "twt-12.md").write_text(ISSUE, encoding="utf-8")
    archive = load_archive(folder)
    off = SearchEngine.build(archive, settings)
    # The engine's analyzer without stemming is replaced, not reused.
    on = SearchEngine.build(archive, msgspec.structs.replace(settings, english_stemming=True), analyzer=off.analyzer)
    return off, on


def test_engine_with_stemming_has_its_own_analyzer_and_fingerprint(
        engines: tuple[SearchEngine, SearchEngine]) -> None:
    off, on = engines
    assert on.analyzer.config.english_stemming
    assert not off.analyzer.config.english_stemming
    assert on.fingerprint != off.fingerprint


@pytest.mark.parametrize(("query", "url"), [
    ("crate", "https://example.com/borrow"), ("borrowed crate", "https://example.com/borrow"),
    ("compiling", "https://example.com/compile"),
])
def test_engine_finds_other_forms_only_with_stemming(engines: tuple[SearchEngine, SearchEngine], query: str,
                                                     url: str) -> None:
    off, on = engines
    assert url not in [h.entry.url for h in off.search(query).hits]
    assert on.search(query).hits[0].entry.url == url
