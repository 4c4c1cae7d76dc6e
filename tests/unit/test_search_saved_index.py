"""The engine saves its BM25 index and a restart maps it; a damaged or stale file is rebuilt and answers the same."""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec

from bot.config import Config, sample_archive_dir
from bot.library import search_settings
from retrieval.archive import load_archive
from retrieval.search import SearchEngine

QUESTIONS = ("矩阵乘法", "transformer attention", "数据增强 图像", "第 31 期 MADDNESS")


def _answers(engine: SearchEngine) -> list[list[tuple[str, float]]]:
    return [[(h.entry.key, h.score) for h in engine.search(q, k=5).hits] for q in QUESTIONS]


def test_restart_maps_the_saved_index_and_refuses_a_bad_one(tmp_path: Path, sample_config: Config) -> None:
    archive_dir = tmp_path / "archive"
    shutil.copytree(sample_archive_dir(), archive_dir)
    settings = search_settings(msgspec.structs.replace(
        sample_config, storage=msgspec.structs.replace(sample_config.storage, cache_dir=str(tmp_path / "cache"))))
    first = SearchEngine.build(load_archive(archive_dir), settings)
    assert not first.index_loaded
    want = _answers(first)
    assert any(want)
    (saved,) = (tmp_path / "cache").glob("bm25-*.idx")

    again = SearchEngine.build(load_archive(archive_dir), settings, analyzer=first.analyzer)
    assert again.index_loaded
    assert again.tokenized_now == 0
    assert _answers(again) == want

    saved.write_bytes(saved.read_bytes()[:-10])  # truncated: rebuilt from the token store, and saved again whole
    rebuilt = SearchEngine.build(load_archive(archive_dir), settings, analyzer=first.analyzer)
    assert not rebuilt.index_loaded
    assert _answers(rebuilt) == want
    assert SearchEngine.build(load_archive(archive_dir), settings, analyzer=first.analyzer).index_loaded

    changed = settings.__class__(**{**{f: getattr(settings, f) for f in settings.__struct_fields__}, "k1": 1.2})
    other = SearchEngine.build(load_archive(archive_dir), changed, analyzer=first.analyzer)
    assert not other.index_loaded  # other BM25 parameters: the saved index is stale

    path = archive_dir / "akiras-machine-learning-news-issue-31-5a3e0c000031.md"
    path.write_text(path.read_text(encoding="utf-8").replace("MADDNESS", "MADDNESS 算法"), encoding="utf-8")
    edited = SearchEngine.build(load_archive(archive_dir), settings, analyzer=first.analyzer)
    assert not edited.index_loaded  # an entry changed: stale
    assert edited.tokenized_now == 1
