"""Guards the retrieval quality figures on our own question set, and keeps the benchmark command working."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.cli import main
from bot.commands import search_settings
from bot.config import Config, load_config, sample_archive_dir
from retrieval.archive import load_archive
from retrieval.bench import run_benchmark
from retrieval.evaluate import baseline_ranker, load_questions, newsbot_ranker, score
from retrieval.search import SearchEngine, canonical_link

QUESTIONS = Path(__file__).parent / "eval" / "questions.toml"


def test_question_set_is_well_formed() -> None:
    with QUESTIONS.open("rb") as fh:
        data = tomllib.load(fh)
    questions = data["question"]
    assert len(questions) >= 30
    assert len({q["id"] for q in questions}) == len(questions)
    assert {q["lang"] for q in questions} == {"zh", "en", "mixed"}
    for q in questions:
        assert q["query"].strip()
        assert 1 <= len(q["expected"]) <= 3
        assert all(u.startswith("https://") for u in q["expected"])
        assert "utm_" not in "".join(q["expected"])


@pytest.mark.corpus
@pytest.mark.slow
def test_newsbot_beats_targets_and_baseline(corpus_dir: Path, shared_cache_dir: Path) -> None:
    config = load_config(env={}, archive__path=str(corpus_dir / "akira"), storage__cache_dir=str(shared_cache_dir))
    archive = load_archive(config.archive.resolved)
    engine = SearchEngine.build(archive, search_settings(config))
    questions = load_questions(QUESTIONS)
    ours = score(questions, newsbot_ranker(engine))
    naive = score(questions, baseline_ranker(config.archive.resolved))
    assert ours.mrr >= 0.85, ours
    assert ours.recall >= 0.95, ours
    assert ours.mrr > naive.mrr
    assert ours.recall > naive.recall
    # Every expected link exists in the archive as parsed: the questions test retrieval, not parsing.
    links = {canonical_link(e.url) for e in archive.entries if e.url}
    assert all(canonical_link(u) in links for q in questions for u in q.expected)


def test_eval_command_on_the_sample_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    questions = tmp_path / "q.toml"
    questions.write_text(
        '[[question]]\nid = "s1"\nlang = "zh"\nquery = "不用乘法的矩阵乘积"\n'
        'expected = ["https://arxiv.org/abs/2106.10860"]\n'
        '[[question]]\nid = "s2"\nlang = "en"\nquery = "robustness of vision transformers"\n'
        'expected = ["https://arxiv.org/abs/2105.07581"]\n', encoding="utf-8")
    assert main(["eval", "--questions", str(questions)]) == 0
    out = capsys.readouterr().out
    assert "2 questions" in out
    newsbot_row = next(line for line in out.splitlines() if line.startswith("newsbot "))
    assert "1.000" in newsbot_row


def test_benchmark_runs_on_a_small_archive(sample_config: Config) -> None:
    lines: list[str] = []
    report = run_benchmark(sample_archive_dir(), search_settings(sample_config), sizes=(20, 50), queries=5,
                           say=lines.append)
    assert set(report["sizes"]) == {20, 50}
    for row in report["sizes"].values():
        assert row["content"]["identical_top_k"]
        assert row["natural"]["identical_top_k"]
    assert report["cache"]["hit_p50_ms"] > 0
    assert any("peak memory" in line for line in lines)
