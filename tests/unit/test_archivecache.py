"""The parsed archive kept between starts (retrieval.archivecache): used only when nothing it was made from
changed, and never trusted when it is stale, damaged or from other code."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import retrieval.archive as archive_module
from bot.config import sample_archive_dir
from retrieval.archive import LoadOptions, load_archive
from retrieval.archivecache import ArchiveCache
from retrieval.profile import load_profile


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return Path(shutil.copytree(sample_archive_dir(), tmp_path / "archive"))


def _options(tmp_path: Path) -> LoadOptions:
    return LoadOptions(progress=False, cache_dir=tmp_path / "cache")


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr(archive_module, "_load_files", refuse)


def test_a_restart_reads_the_saved_parse(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_archive(folder, _options(tmp_path))
    _no_parsing(monkeypatch)
    again = load_archive(folder, _options(tmp_path))
    assert again.issues == first.issues
    assert [i.id for i in again.newsletter_issues] == [i.id for i in first.newsletter_issues]
    assert again.get(first.issues[0].id) == first.issues[0]  # the lookups are rebuilt too


def test_a_changed_added_or_removed_file_is_parsed_again(folder: Path, tmp_path: Path) -> None:
    first = load_archive(folder, _options(tmp_path))
    path = sorted(folder.glob("*.md"))[0]
    path.write_text(path.read_text(encoding="utf-8").replace("# ", "# Edited ", 1), encoding="utf-8")
    edited = load_archive(folder, _options(tmp_path))
    assert edited.issues != first.issues
    (folder / "extra.md").write_text("# Issue 99\n\n## News\n\n- [A new thing](https://example.org/new)\n",
                                     encoding="utf-8")
    assert len(load_archive(folder, _options(tmp_path)).issues) == len(first.issues) + 1
    (folder / "extra.md").unlink()
    assert len(load_archive(folder, _options(tmp_path)).issues) == len(first.issues)


def test_another_profile_or_option_is_another_parse(folder: Path, tmp_path: Path) -> None:
    akira = load_archive(folder, _options(tmp_path))
    generic = load_archive(folder, _options(tmp_path), profile=load_profile("this-week-in-rust"))
    assert generic.profile == "this-week-in-rust" != akira.profile
    assert load_archive(folder, _options(tmp_path)).profile == akira.profile


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "another key"])
def test_a_damaged_or_stale_saved_parse_is_never_trusted(folder: Path, tmp_path: Path, damage: str) -> None:
    first = load_archive(folder, _options(tmp_path))
    saved = ArchiveCache(tmp_path / "cache", folder).path
    data = saved.read_bytes()
    if damage == "truncated":
        saved.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        saved.write_bytes(os.urandom(len(data)))
    elif damage == "empty":
        saved.write_bytes(b"")
    else:
        assert ArchiveCache(tmp_path / "cache", folder).load("not the key") is None
        return
    assert load_archive(folder, _options(tmp_path)).issues == first.issues
    assert ArchiveCache(tmp_path / "cache", folder).path.stat().st_size == len(data)  # saved again, whole


def test_an_unwritable_cache_folder_only_costs_the_saving(folder: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder would be", encoding="utf-8")
    assert load_archive(folder, _options(tmp_path)).issues
