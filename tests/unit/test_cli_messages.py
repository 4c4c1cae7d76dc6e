"""CLI messages a person can act on: every path error names the path, and measurements say what they ran on."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.cli import build_parser, main


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
    assert "a question set is written for one archive" in out


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("case", ["malformed-url", "migrate-db-folder", "run-db-dev-null", "ingest-archive-file",
                                  "ingest-archive-proc"])
def test_a_bad_store_or_archive_path_is_one_line_not_a_traceback(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # "run" must refuse the store before it would reach Discord (a closed port here, should it try).
    monkeypatch.setenv("DISCORD_TOKEN", "MTE4.fake.token")
    monkeypatch.setenv("NEWSBOT_API_BASE", f"http://127.0.0.1:{_closed_port()}/api/v10")
    feed = tmp_path / "feed.xml"
    feed.write_text("<rss version='2.0'><channel><title>t</title></channel></rss>", encoding="utf-8")
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    bad_url = tmp_path / "bad.toml"
    bad_url.write_text('[storage]\nurl = "postgresql://[::1"\n', encoding="utf-8")
    argv, expected = {
        "malformed-url": (["migrate", "--config", str(bad_url)], "storage.url: not a valid URL"),
        "migrate-db-folder": (["migrate", "--db", str(tmp_path)], "is a folder"),
        "run-db-dev-null": (["run", "--db", "/dev/null"], "storage.db_path: /dev/null: not a regular file"),
        "ingest-archive-file": (["ingest", "--archive", str(a_file), str(feed)], "is a file, not a folder"),
        "ingest-archive-proc": (["ingest", "--archive", "/proc", str(feed)], "/proc: cannot write files"),
    }[case]
    assert main(argv) in (1, 2)
    err = capsys.readouterr().err
    [line] = err.strip().splitlines()
    assert line.startswith("newsbot: ")
    assert expected in line


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    [sub] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_option_of_every_subcommand_has_a_help_string() -> None:
    missing = [f"{name} {'/'.join(a.option_strings) or a.dest}" for name, p in _subcommands().items()
               for a in p._actions if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    assert missing == []


def test_help_says_what_the_commands_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_SHARED", "/srv/newsbot-shared")
    sub = _subcommands()
    [archive] = [a for a in sub["ingest"]._actions if "--archive" in a.option_strings]
    assert "required" in (archive.help or "")
    assert "bundled sample" not in (archive.help or "").split(";")[0]  # the sample is no default for ingest
    eval_repair = sub["eval-repair"].format_help()
    [corpus] = [a for a in sub["eval-repair"]._actions if "--corpus" in a.option_strings]
    assert corpus.default == Path("/srv/newsbot-shared/corpus")
    assert "default: /srv/newsbot-shared/corpus" in " ".join(eval_repair.split())
