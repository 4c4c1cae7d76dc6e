"""The archive loader on bad input, on the sample archive, and on the real corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import sample_archive_dir
from retrieval.archive import LoadOptions, decode_bytes, load_archive
from retrieval.errors import ArchiveError, BadFileError

SAMPLE = sample_archive_dir()
ISSUE_31 = "akiras-machine-learning-news-issue-31-5a3e0c000031.md"


def garble(text: str) -> str:
    """The corruption recipe of ../shared/corpus/SEEDS.md (seed 000)."""
    return text.encode("utf-8").decode("cp1254", errors="ignore").replace("\u00ad", "")


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    target = tmp_path / "archive"
    shutil.copytree(SAMPLE, target)
    return target


def test_sample_archive_loads_cleanly() -> None:
    archive = load_archive(SAMPLE)
    assert len(archive.newsletter_issues) == 8
    assert archive.skipped == ()
    assert archive.repairs == ()
    assert archive.duplicates == ()
    assert all(issue.entries for issue in archive.issues)
    dates = [i.date for i in archive.newsletter_issues]
    assert dates == sorted(d for d in dates if d is not None)
    assert archive.latest is not None
    assert archive.latest.number == 31


def test_every_bad_file_is_skipped_with_a_reason_and_good_files_still_load(archive_dir: Path) -> None:
    text = (archive_dir / ISSUE_31).read_text(encoding="utf-8")
    (archive_dir / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (archive_dir / "empty.md").write_bytes(b"")
    (archive_dir / "blank.md").write_text("   \n\n  ", encoding="utf-8")
    (archive_dir / "gbk.md").write_bytes("# 用 GBK 编码的文章\n\n## 一节\n\n这是一段中文内容。".encode("gbk"))
    (archive_dir / "utf16.md").write_bytes("# UTF-16 的文章\n\n## 一节\n\n内容在这里。".encode("utf-16"))
    (archive_dir / "utf16le-nobom.md").write_bytes("# No BOM\n\n## Part\n\nSome text here.".encode("utf-16-le"))
    (archive_dir / "truncated.md").write_text(text[: len(text) // 3], encoding="utf-8")
    (archive_dir / "no-source.md").write_text("# 一篇没有原文行的笔记\n\n## 小节\n\n一些内容。", encoding="utf-8")
    (archive_dir / "only-markup.md").write_text("****\n\n— — — — —\n\n![](img/a.png)", encoding="utf-8")
    big = archive_dir / "huge.md"
    with big.open("wb") as fh:
        fh.write(b"# big\n\n")
        fh.write(("很长的一行文字。" * 1000 + "\n").encode("utf-8") * 2200)  # about 50 MB
    archive = load_archive(archive_dir, LoadOptions(max_file_bytes=8 * 1_048_576))

    reasons = {s.path: s.reason for s in archive.skipped}
    assert "binary" in reasons["binary.md"]
    assert reasons["empty.md"] == "empty file"
    assert "whitespace" in reasons["blank.md"]
    assert "too large" in reasons["huge.md"]
    assert "MB" in reasons["huge.md"]
    assert "no usable content" in reasons["only-markup.md"]
    loaded = {i.path for i in archive.issues}
    assert {"gbk.md", "utf16.md", "utf16le-nobom.md", "no-source.md"} <= loaded
    assert {i.path for i in archive.newsletter_issues} >= {p.name for p in SAMPLE.iterdir()} - {ISSUE_31}
    # The truncated copy shares issue 31's 原文 URL: it is the same issue, loaded once.
    [issue31] = [i for i in archive.issues if i.number == 31]
    assert issue31.path == ISSUE_31
    assert [d.path for d in archive.duplicates] == ["truncated.md"]


def test_a_folder_of_thousands_of_files(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(2500):
        (folder / f"note-{n:04d}.md").write_text(f"# 笔记 {n}\n\n## 小节\n\n第 {n} 篇的内容，关于变压器。",
                                                 encoding="utf-8")
    archive = load_archive(folder, LoadOptions(progress=False))
    assert len(archive.issues) == 2500
    assert archive.newsletter_issues == ()


def test_missing_or_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="not found"):
        load_archive(tmp_path / "nope")
    with pytest.raises(ArchiveError, match=r"no \.md"):
        load_archive(tmp_path)


def test_repaired_copy_loses_to_the_clean_one_and_is_used_alone(archive_dir: Path) -> None:
    text = (archive_dir / ISSUE_31).read_text(encoding="utf-8")
    (archive_dir / "000_garbled.txt").write_text(garble(text), encoding="utf-8")
    archive = load_archive(archive_dir)
    [issue31] = [i for i in archive.issues if i.number == 31]
    assert not issue31.repaired
    assert issue31.path == ISSUE_31
    assert [d.path for d in archive.duplicates] == ["000_garbled.txt"]
    assert "clean copy wins" in archive.duplicates[0].reason
    assert [r.path for r in archive.repairs] == ["000_garbled.txt"]

    (archive_dir / ISSUE_31).unlink()
    archive = load_archive(archive_dir)
    [issue31] = [i for i in archive.issues if i.number == 31]
    assert issue31.repaired
    assert issue31.path == "000_garbled.txt"
    assert issue31.entries
    assert issue31.entries[0].url == "https://arxiv.org/abs/2106.10860"
    report = archive.repairs[0]
    assert report.damaged > 0
    assert report.filled == report.damaged


def test_decode_rejects_undecodable_bytes() -> None:
    with pytest.raises(BadFileError, match="not UTF-8"):
        decode_bytes(b"abc \xff\xfd \x80\x81" * 10 + b"\xc3")


def test_index_command_json(archive_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (archive_dir / "broken.md").write_bytes(b"\x00\x01\x02\x03" * 100)
    assert main(["index", "--archive", str(archive_dir), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {"issues", "entries", "features", "repaired", "skipped"} <= set(summary)
    assert summary["issues"] == 8
    assert summary["entries"] == 57
    assert summary["features"] == 19
    [skipped] = summary["skipped"]
    assert skipped["path"] == "broken.md"
    assert skipped["reason"].startswith("binary data, not text")


def test_index_command_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--archive", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "8 newsletter issues" in out
    assert "57 (19 features" in out


def test_index_command_on_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--archive", str(tmp_path / "missing")]) == 1
    assert "archive folder not found" in capsys.readouterr().err


def test_repair_command(archive_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    twin = archive_dir / ISSUE_31
    text = twin.read_text(encoding="utf-8")
    twin.unlink()  # the context must not contain the answer
    damaged = tmp_path / "damaged.md"
    damaged.write_text(garble(text), encoding="utf-8")
    assert main(["repair", str(damaged), "--context", str(archive_dir)]) == 0
    out, err = capsys.readouterr()
    assert "damaged characters found" in err
    assert "filled" in err
    assert "uncertain" in err
    assert len(out) == len(text)
    wrong = sum(a != b for a, b in zip(out, text, strict=True))
    assert wrong <= len(text) * 0.01, wrong


@pytest.mark.corpus
def test_real_archive_plus_seeds(corpus_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    shutil.copytree(corpus_dir / "akira", folder / "akira")
    shutil.copytree(corpus_dir / "seeds", folder / "seeds")
    archive = load_archive(folder)
    issues = archive.newsletter_issues
    assert len(issues) == 48
    assert all(i.entries for i in issues)
    week13 = [i for i in issues if (i.year, i.week) == (2021, 13)]
    issue34 = [i for i in issues if i.number == 34]
    assert len(week13) == 1
    assert len(issue34) == 1
    assert not week13[0].repaired
    assert week13[0].path.startswith("akira/")
    assert not issue34[0].repaired
    assert len(archive.duplicates) == 3
    assert [r.path for r in archive.repairs] == ["seeds/000_80c26cce652e0477.txt"]
    entries = archive.entries
    assert sum(e.url is not None for e in entries) >= 0.95 * len(entries)


def test_a_repair_is_cached_by_file_content_and_model(archive_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A damaged file is repaired once: later loads (a restart, a reindex) read the cache, until the file or
    the model's inputs change; a damaged cache means repairing again, never a wrong text."""
    import sqlite3

    import retrieval.archive as archive_module

    calls: list[int] = []
    real = archive_module.repair_text

    def counting(text: str, lm: object = None, **kw: object) -> object:
        calls.append(len(text))
        return real(text, lm, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(archive_module, "repair_text", counting)
    text = (archive_dir / ISSUE_31).read_text(encoding="utf-8")
    (archive_dir / ISSUE_31).unlink()
    (archive_dir / "000_garbled.txt").write_text(garble(text), encoding="utf-8")
    cache_dir = tmp_path / "cache"
    options = LoadOptions(cache_dir=cache_dir, progress=False)

    def repaired_issue() -> tuple[object, ...]:
        shutil.rmtree(cache_dir / "archives", ignore_errors=True)  # the saved parse would skip the repair cache
        archive = load_archive(archive_dir, options)
        [issue] = [i for i in archive.issues if i.repaired]
        return (issue, archive.repairs)

    first = repaired_issue()
    assert len(calls) == 1
    assert repaired_issue() == first  # restart / reindex: nothing repaired again
    assert len(calls) == 1

    # The model learns from the archive's clean files: another clean file is another model.
    shutil.copy(SAMPLE / "akiras-machine-learning-news-19-5a3e0c000019.md", archive_dir / "extra.md")
    repaired_issue()
    assert len(calls) == 2
    (archive_dir / "extra.md").unlink()
    assert repaired_issue() == first
    assert len(calls) == 2

    # A stored text that no longer matches its checksum is not used.
    with sqlite3.connect(cache_dir / "repairs.sqlite3") as conn:
        conn.execute("UPDATE repairs SET text = 'wrong'")
    conn.close()
    assert repaired_issue() == first
    assert len(calls) == 3

    # A cache file that is not a database at all is replaced.
    (cache_dir / "repairs.sqlite3").write_bytes(b"not a database" * 100)
    assert repaired_issue() == first
    assert len(calls) == 4
    assert repaired_issue() == first
    assert len(calls) == 4


@pytest.mark.parametrize("when", ["9999 年第 53 周", "2021 年第 53 周"])  # a year out of range; no ISO week 53
def test_an_issue_whose_date_cannot_be_read_sorts_last_and_is_never_latest(archive_dir: Path, when: str) -> None:
    (archive_dir / "akiras-ml-news-undated-5a3e0c999999.md").write_text(
        f"# Akira 的机器学习新闻—{when}\n\n> 原文：<https://medium.com/analytics-vidhya/akiras-ml-news-undated-"
        f"5a3e0c999999>\n\n{when}\n\n## 本周特稿/新闻。\n\n*   [一篇论文](https://arxiv.org/abs/2101.00001)发布了。\n",
        encoding="utf-8")
    archive = load_archive(archive_dir)
    issues = archive.newsletter_issues
    assert len(issues) == 9
    undated = [i for i in issues if i.date is None]
    assert [i.title for i in undated] == [f"Akira 的机器学习新闻—{when}"]
    assert issues[-1].date is None  # after every dated issue
    assert archive.latest is not None
    assert archive.latest.number == 31
    from retrieval.issuedir import IssueDirectory
    from retrieval.issueref import parse_issue_ref
    assert IssueDirectory(archive).resolve(parse_issue_ref("latest")) == (archive.latest,)
