"""The generic reader, newsletter profiles and bad input: a broken profile, a profile section no issue has, an issue
with no items, a folder mixing two newsletters, a file that is not markdown. Each is one line naming the file or
key, and everything else loads. All texts here are written for the test."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.archive import LoadOptions, load_archive
from retrieval.errors import ConfigError
from retrieval.parse import parse_markdown
from retrieval.profile import GENERIC, load_profile, parse_profile

ZH_ISSUE = """# 测试周刊（第 {n} 期）：小题目

这里是开头。

## 封面图

一张图。

## 小题目

一篇短文。**（1）第一点**。正文。**（2）第二点**。

## 科技动态

（1）第一条[新闻](https://news.example/{n}/1)。

（2）第二条[新闻](https://news.example/{n}/2)。

## 工具

1、[工具甲](https://tools.example/{n}/a)

一个工具。

2、[工具乙](https://tools.example/{n}/b)

## 往年回顾

[旧文](https://old.example/{n})
"""

EN_ISSUE = """Title: Rust Notes {n}
Number: {n}
Date: 2024-01-{day:02d}
Category: Rust Notes

Hello and welcome, [intro link](https://intro.example/).

## Community

### Official
* [Release {n}](https://blog.example/{n})
* [Another post](https://blog.example/{n}/b) with words

## Crate of the Week

This week's crate is [thing](https://crates.example/thing).

## Jobs

* [A job](https://jobs.example/{n})
"""


def _write(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        path = root / name
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(body, encoding="utf-8")
    return root


def test_generic_zh_issue_with_a_profile() -> None:
    profile = parse_profile(
        'name = "test-weekly"\nlanguage = "zh"\nskip = ["^往年回顾$"]\n'
        '[features]\ntitle_section = true\nwhole = true\n')
    issue = parse_markdown(ZH_ISSUE.format(n=12), path="issue-12.md", profile=profile)
    assert (issue.kind, issue.number) == ("issue", 12)
    rows = [(e.section, e.title, e.url, e.feature) for e in issue.entries]
    assert rows == [
        ("封面图", "封面图", None, False),
        ("小题目", "小题目", None, True),  # the essay the title names: one entry, its (1) (2) inside
        ("科技动态", "第一条新闻。", "https://news.example/12/1", False),
        ("科技动态", "第二条新闻。", "https://news.example/12/2", False),
        ("工具", "工具甲", "https://tools.example/12/a", False),
        ("工具", "工具乙", "https://tools.example/12/b", False),
    ]
    assert issue.entries[4].summary == "一个工具。"


def test_generic_without_profile_features_are_the_first_content_section() -> None:
    issue = parse_markdown(EN_ISSUE.format(n=7, day=5), path="2024-01-05-notes.md", profile=GENERIC)
    assert (issue.number, str(issue.date)) == (7, "2024-01-05")
    assert [(e.section, e.title, e.feature) for e in issue.entries] == [
        ("Community", "Release 7", True), ("Community", "Another post with words", True),
        ("Crate of the Week", "Crate of the Week", False), ("Jobs", "A job", False),
    ]


def test_front_matter_styles_and_file_names() -> None:
    yaml = "---\ntitle: 'Weekly #3'\ndate: 2023-05-01\n---\n\n## News\n\n* [a](https://a.example/)\n"
    toml = '+++\ntitle = "Weekly"\nnumber = 4\ndate = 2023-05-08\n+++\n\n## News\n\n* [b](https://b.example/)\n'
    plain = "# 第 350 期\n\n## 新闻\n\n1. [c](https://c.example/)\n"
    got = [parse_markdown(t, path=p, profile=GENERIC) for t, p in
           ((yaml, "x.md"), (toml, "y.md"), (plain, "z.md"), ("## News\n\n* [d](https://d.example/)\n", "issue-9.md"))]
    assert [(i.number, str(i.date), i.kind) for i in got] == [
        (3, "2023-05-01", "issue"), (4, "2023-05-08", "issue"), (350, "None", "issue"), (9, "None", "issue")]


def test_a_profile_that_does_not_parse_names_the_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "mine.toml"
    bad.write_text('name = "mine"\n[features]\nsections = "not a list"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mine\.toml.*features\.sections"):
        load_profile(bad)
    bad.write_text('name = "mine"\nskip = [\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mine\.toml: not valid TOML"):
        load_profile(bad)
    with pytest.raises(ConfigError, match="neither a bundled profile"):
        load_profile(tmp_path / "missing.toml")


def test_a_profile_section_no_issue_has_is_one_note_and_the_rest_loads(tmp_path: Path) -> None:
    root = _write(tmp_path / "weekly", {f"issue-{n}.md": ZH_ISSUE.format(n=n) for n in (1, 2)})
    profile = parse_profile('name = "test-weekly"\n[features]\nsections = ["^本周特稿$"]\n'
                            '[[sections]]\nkey = "news"\nlabel = "新闻"\nmatch = "^新闻$"\n')
    archive = load_archive(root, LoadOptions(progress=False), profile=profile)
    assert len(archive.newsletter_issues) == 2
    assert archive.profile == "test-weekly"
    assert archive.notes == (
        "profile test-weekly: sections[0] (key 'news'): no issue has this section",
        "profile test-weekly: features.sections[0] ('^本周特稿$'): no issue has this section",
    )
    # With no feature section found, the first content section's items are the features.
    assert all(i.features for i in archive.newsletter_issues)


def test_an_issue_with_no_items_is_one_note(tmp_path: Path) -> None:
    root = _write(tmp_path / "weekly", {"issue-1.md": ZH_ISSUE.format(n=1), "issue-2.md": "# 测试周刊（第 2 期）\n"})
    archive = load_archive(root, LoadOptions(progress=False), profile=load_profile("ruanyf-weekly"))
    assert [i.number for i in archive.newsletter_issues] == [1, 2]
    assert "issue-2.md: an issue with no items" in archive.notes


def test_a_folder_mixing_two_newsletters_keeps_the_majority(tmp_path: Path) -> None:
    twir = "Title: This Week in Rust {n}\nNumber: {n}\nDate: 2024-01-0{n}\nCategory: This Week in Rust\n\n" \
           "## Updates\n\n* [x](https://x.example/{n})\n"
    root = _write(tmp_path / "mixed", {
        **{f"2024-01-0{n}-twir.md": twir.format(n=n) for n in (1, 2, 3)},
        "issue-350.md": "# 科技爱好者周刊（第 350 期）：题目\n\n## 工具\n\n1、[甲](https://t.example/a)\n",
    })
    archive = load_archive(root, LoadOptions(progress=False))
    assert archive.profile == "this-week-in-rust"
    assert [i.number for i in archive.newsletter_issues] == [1, 2, 3]
    assert [(s.path, s.reason) for s in archive.skipped] == [
        ("issue-350.md", "an issue of ruanyf-weekly, not of this archive's this-week-in-rust: give it its own archive")]


def test_a_file_that_is_not_markdown_is_skipped_with_a_reason(tmp_path: Path) -> None:
    root = _write(tmp_path / "weekly", {
        "issue-1.md": ZH_ISSUE.format(n=1),
        "issue-2.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        "cover.png": b"\x89PNG\r\n\x1a\n",
    })
    archive = load_archive(root, LoadOptions(progress=False), profile=load_profile("ruanyf-weekly"))
    assert [i.path for i in archive.issues] == ["issue-1.md"]
    assert [(s.path, s.reason) for s in archive.skipped] == [("issue-2.md", "binary data, not text (NUL bytes)")]


def test_the_bundled_sample_archive_is_detected_as_akira() -> None:
    root = Path(__file__).resolve().parents[2] / "retrieval" / "sample_archive"
    archive = load_archive(root, LoadOptions(progress=False))
    assert archive.profile == "akira"
    assert not archive.notes
    akira = {(r.key, r.label) for r in load_profile("akira").sections}
    assert set(archive.section_names()) <= akira
    assert ("papers", "论文") in archive.section_names()


def test_a_profile_in_the_archive_folder_is_used_and_a_broken_one_is_one_note(tmp_path: Path) -> None:
    root = _write(tmp_path / "weekly", {f"issue-{n}.md": ZH_ISSUE.format(n=n) for n in (1, 2)})
    (root / "newsbot-profile.toml").write_text(
        'name = "folder-weekly"\nlanguage = "zh"\nskip = ["^往年回顾$"]\n[features]\nsections = ["^科技动态$"]\n',
        encoding="utf-8")
    archive = load_archive(root, LoadOptions(progress=False))
    assert archive.profile == "folder-weekly"
    assert not archive.notes
    assert {e.section for i in archive.newsletter_issues for e in i.features} == {"科技动态"}
    assert "往年回顾" not in {e.section for e in archive.entries}
    (root / "newsbot-profile.toml").write_text('name = "folder-weekly"\nfeatures = 3\n', encoding="utf-8")
    archive = load_archive(root, LoadOptions(progress=False))
    assert archive.profile == "generic"
    assert len(archive.newsletter_issues) == 2
    assert len(archive.notes) == 1
    assert archive.notes[0].startswith(f"{root / 'newsbot-profile.toml'}: Expected `object`")


def test_every_profile_key_is_documented() -> None:
    """docs/newsletters.md's reference names every field of the schema (a new key cannot go undocumented)."""
    import msgspec

    from retrieval.profile import Dates, Features, Match, Profile, SectionRule

    doc = (Path(__file__).resolve().parents[2] / "docs" / "newsletters.md").read_text(encoding="utf-8")
    reference = doc.split("## Profile reference", 1)[1]
    for struct, prefix in ((Profile, ""), (Match, "[match] "), (SectionRule, "[[sections]] "),
                           (Features, "[features] "), (Dates, "[dates] ")):
        for field in msgspec.structs.fields(struct):
            if field.name in ("match", "features", "dates", "sections") and struct is Profile:
                continue
            cell = f"| `{prefix.strip()}` `{field.name}` |" if prefix else f"| `{field.name}` |"
            assert cell in reference, field.name


def test_a_folder_of_numbered_issues_without_a_profile_is_a_newsletter(tmp_path: Path) -> None:
    root = _write(tmp_path / "weekly", {f"issue-{n}.md": EN_ISSUE.replace("Category: Rust Notes", "").format(
        n=n, day=n) for n in (1, 2, 3)})
    (root / "README.md").write_text("# About this folder\n\nNotes.\n", encoding="utf-8")
    archive = load_archive(root, LoadOptions(progress=False))
    assert archive.profile == "generic"
    # Every file of a newsletter folder is an issue, the README too.
    assert len(archive.newsletter_issues) == 4
    assert [i.number for i in archive.newsletter_issues if i.number] == [1, 2, 3]


def test_archive_profile_names_what_load_archive_would_use(tmp_path: Path) -> None:
    from retrieval.archive import archive_profile

    root = _write(tmp_path / "weekly", {f"issue-{n}.md": ZH_ISSUE.format(n=n).replace("测试周刊", "科技爱好者周刊")
                                        for n in (1, 2)})
    assert archive_profile(root).name == "ruanyf-weekly"
    assert archive_profile(Path(__file__).resolve().parents[2] / "retrieval" / "sample_archive").name == "akira"
