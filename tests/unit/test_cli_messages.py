"""CLI messages a person can act on: every path error names the path, and measurements say what they ran on."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main


def test_repair_of_a_missing_file_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.md"
    assert main(["repair", str(missing)]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"newsbot: {missing}: cannot be read"), err


def test_repair_of_a_folder_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["repair", str(tmp_path)]) != 0
    assert capsys.readouterr().err.strip().startswith(f"newsbot: {tmp_path}: "), "path first"


def test_an_archive_that_is_a_file_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "issue.md"
    file.write_text("# x\n", encoding="utf-8")
    assert main(["index", "--archive", str(file)]) == 1
    assert f"{file}: is a file, not an archive folder" in capsys.readouterr().err


def test_eval_repair_without_a_corpus_says_what_to_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval-repair", "--corpus", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert f"newsbot: {tmp_path}: no seeds/ folder" in err
    assert "--corpus" in err


def test_eval_on_the_sample_archive_says_the_questions_are_about_another(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_DB", str(tmp_path / "state.sqlite3"))
    assert main(["eval"]) == 0  # the bundled sample archive, the shipped question sets
    out = capsys.readouterr().out
    assert "held-out questions expect links that no entry of this archive has" in out
    assert "--archive ../shared/corpus/akira" in out
