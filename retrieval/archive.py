"""Load a folder of newsletter issues into a deduplicated, repaired :class:`~retrieval.models.Archive`.

The loader is the boundary between files as they exist in the wild and clean typed data:

1. read every ``.md`` / ``.markdown`` / ``.txt`` file, sniffing its encoding (UTF-8, UTF-16 with or
   without BOM, GBK) and refusing binary or oversized files with a reason;
2. detect mojibake and repair it, training the repair model on the clean files of the same archive;
3. parse each text into an :class:`~retrieval.models.Issue`;
4. deduplicate by 原文 URL: the clean copy wins, a repaired copy is used only when no clean one exists;
5. order newsletter issues by date, then number.

One bad file never stops the others: it becomes a :class:`~retrieval.models.SkippedFile`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import multiprocessing
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from retrieval.archivecache import ArchiveCache, archive_key
from retrieval.charlm import CharLM
from retrieval.errors import ArchiveError, BadFileError, ConfigError
from retrieval.links import link_hash, same_link
from retrieval.models import Archive, Issue, RepairReport, SkippedFile
from retrieval.profile import GENERIC, Profile, load_profile, profile_notes
from retrieval.repair import detect_mojibake, repair_text
from retrieval.repaircache import RepairCache, model_fingerprint

log = logging.getLogger(__name__)
T = TypeVar("T")

FOLDER_PROFILE = "newsbot-profile.toml"
"""A profile kept in the archive folder itself, used when none is given."""
TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024
# Below this many files a progress bar is noise.
PROGRESS_MIN_FILES = 200
# Below this many files, starting worker processes costs more than parsing in this one.
PARALLEL_MIN_FILES = 400
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
"""Below a space, less tab, newline, form feed and carriage return: counted in C, not one character at a time."""
# Enough clean text to train the repair model well without reading a huge archive twice.
REPAIR_CONTEXT_CHARS = 3_000_000


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """How to load an archive."""

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    progress: bool = True
    """Show a progress bar on stderr for large archives."""
    repair: bool = True
    """Repair mojibake; when False, damaged files are skipped instead."""
    workers: int = 2
    """Processes that parse a large archive."""
    userdict: Path | None = None
    """The ML user dictionary, which the repair model learns along with jieba's dictionary."""
    cache_dir: Path | None = None
    """Where repaired texts are kept (:mod:`retrieval.repaircache`); None repairs every load."""


@dataclass(frozen=True, slots=True)
class _Read:
    rel: str
    text: str
    encoding: str


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode a file's bytes, returning ``(text, encoding)``; raise :class:`BadFileError` if it is not text.

    >>> decode_bytes("机器学习 news".encode("utf-8"))
    ('机器学习 news', 'utf-8')
    >>> decode_bytes("\\ufeff变压器".encode("utf-8"))
    ('变压器', 'utf-8-sig')
    >>> decode_bytes("第 34 期".encode("utf-16"))
    ('第 34 期', 'utf-16')
    >>> decode_bytes("本周特稿".encode("gbk"))
    ('本周特稿', 'gbk')
    >>> decode_bytes(b"\\x89PNG\\r\\n\\x1a\\n\\x00\\x00\\x00\\rIHDR")
    Traceback (most recent call last):
    ...
    retrieval.errors.BadFileError: binary data, not text (NUL bytes)
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return _strict(data, "utf-8-sig"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict(data, "utf-16"), "utf-16"
    if b"\x00" in data:
        encoding = _utf16_without_bom(data)
        if encoding is None:
            raise BadFileError("binary data, not text (NUL bytes)")
        return _strict(data, encoding), encoding
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        # GBK is the usual non-UTF-8 encoding for Chinese text; accept it only when it reads as CJK.
        try:
            text = data.decode("gbk")
        except UnicodeDecodeError:
            raise BadFileError(
                f"not UTF-8, UTF-16 or GBK text (invalid byte at offset {utf8_error.start})"
            ) from None
        if _cjk_share(text) < 0.2:
            raise BadFileError(
                f"not UTF-8 text (invalid byte at offset {utf8_error.start}) and not plausible GBK"
            ) from None
        return _check_controls(text), "gbk"
    return _check_controls(text), "utf-8"


def _strict(data: bytes, encoding: str) -> str:
    try:
        return _check_controls(data.decode(encoding))
    except UnicodeDecodeError as err:
        raise BadFileError(f"declares {encoding} but does not decode ({err.reason})") from None


def _utf16_without_bom(data: bytes) -> str | None:
    # UTF-16 text with mostly ASCII/BMP content has NULs concentrated on one byte parity.
    sample = data[:4096]
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = max(len(sample) // 2, 1)
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _cjk_share(text: str) -> float:
    letters = [c for c in text if not c.isspace() and not c.isascii()]
    if not letters:
        return 0.0
    return sum("\u4e00" <= c <= "\u9fff" for c in letters) / len(letters)


def _check_controls(text: str) -> str:
    sample = text[:20000]
    controls = len(_CONTROL_CHARS.findall(sample))
    if sample and controls / len(sample) > 0.01:
        raise BadFileError(f"binary data, not text ({controls} control characters)")
    return text


def iter_archive_files(root: Path) -> Iterator[Path]:
    """Text files below ``root`` in a stable order, skipping hidden files and folders."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in TEXT_SUFFIXES and path.is_file():
            yield path


def read_archive_file(path: Path, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[str, str]:
    """Read one file as text, or raise :class:`BadFileError` saying why not."""
    try:
        size = path.stat().st_size
        if size == 0:
            raise BadFileError("empty file")
        if size > max_bytes:
            raise BadFileError(
                f"too large ({size / 1_048_576:.1f} MB; the limit is {max_bytes / 1_048_576:.1f} MB)"
            )
        data = path.read_bytes()
    except OSError as err:
        raise BadFileError(f"cannot be read ({err.strerror or err})") from None
    text, encoding = decode_bytes(data)
    if not text.strip():
        raise BadFileError("no text (only whitespace)")
    return text, encoding


def load_archive(root: Path, options: LoadOptions = LoadOptions(), *,
                 lm_factory: Callable[[], CharLM] | None = None, profile: Profile | None = None) -> Archive:
    """Load every issue under ``root``.

    ``profile`` says the newsletter's layout (:func:`retrieval.profile.load_profile`); None reads the folder's
    ``newsbot-profile.toml`` if it has one, else detects it from the files
    (:func:`retrieval.parse.detect.choose_profile`): Akira's for Akira's archive and the bundled sample, the
    generic reader for a folder no profile matches. Files of another newsletter than the archive's are skipped,
    each with one line naming it.

    ``lm_factory`` builds the base repair model (default: jieba's dictionary plus ``options.userdict``);
    it is only called when a file needs repair.
    """
    root = root.expanduser()
    files = _archive_files(root)
    # A restart reads the parse it saved (retrieval.archivecache) when nothing it was made from changed.
    cache = ArchiveCache(options.cache_dir, root) if options.cache_dir is not None and lm_factory is None else None
    own_profile = root / FOLDER_PROFILE
    key = archive_key(root, [*files, own_profile] if own_profile.is_file() else files, profile,
                      (options.max_file_bytes, options.repair, options.userdict)) if cache is not None else ""
    saved = cache.load(key) if cache is not None else None
    if saved is not None:
        for s in saved.skipped:
            log.warning("skipping %s: %s", s.path, s.reason)
        for note in saved.notes:
            log.warning("%s", note)
        return saved
    archive = _load_files(root, files, options, lm_factory, profile)
    if cache is not None:
        cache.save(key, archive)
    return archive


def _load_files(root: Path, files: list[Path], options: LoadOptions, lm_factory: Callable[[], CharLM] | None,
                profile: Profile | None) -> Archive:
    skipped: list[SkippedFile] = []
    show = options.progress and len(files) >= PROGRESS_MIN_FILES
    clean, damaged = _read_files(root, files, options.max_file_bytes, show, skipped)
    notes: list[str] = []
    if profile is None:
        profile = _folder_profile(root, notes)
    # Only a profile someone chose is held to its sections: a detected one serves archives that lack some of them
    # (the bundled sample has no "articles" section), and a warning at every start would be noise.
    chosen_by_user = profile is not None
    from retrieval.parse.detect import choose_profile  # the parser is imported only when files are parsed

    chosen, foreign = choose_profile([(r.rel, r.text) for r in clean], profile)
    if foreign:
        other = {rel for rel, _ in foreign}
        clean = [r for r in clean if r.rel not in other]
        skipped.extend(_skip(rel, f"an issue of {name}, not of this archive's {chosen.name}: give it its own archive")
                       for rel, name in foreign)

    issues: list[Issue] = []
    # A folder of articles (no newsletter found) is read exactly as before profiles existed.
    reader = None if chosen is GENERIC else chosen
    parsed_all = _parse_all(clean, options.workers, show, reader)
    for rel, parsed in zip([c.rel for c in clean], parsed_all, strict=True):
        if isinstance(parsed, Issue):
            issues.append(parsed)
        else:
            skipped.append(_skip(rel, parsed))

    repairs: list[RepairReport] = []
    if damaged and not options.repair:
        skipped.extend(_skip(r.rel, f"mojibake ({cp}) and repair is off") for r, cp in damaged)
    elif damaged:
        context = list(_context_texts(clean, issues))
        repairs = _repair_all(damaged, context, options, lm_factory, issues, skipped, reader)

    kept, duplicates = deduplicate(issues)
    notes += profile_notes(chosen, kept, sections=chosen_by_user)
    for note in notes:
        log.warning("%s", note)
    return Archive(root=str(root), issues=tuple(sort_issues(kept)), skipped=tuple(skipped),
                   repairs=tuple(repairs), duplicates=tuple(duplicates), profile=chosen.name, notes=tuple(notes),
                   language=chosen.language if chosen is not GENERIC else "", issue_ref=chosen.issue_ref)


def archive_profile(root: Path, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Profile:
    """The profile :func:`load_archive` would read ``root`` with when given none (its ``newsbot-profile.toml``,
    else detection); only the files' first lines are parsed."""
    root = root.expanduser()
    notes: list[str] = []
    found = _folder_profile(root, notes)
    if found is not None:
        return found
    texts = []
    for path in _archive_files(root):
        try:
            texts.append((path.relative_to(root).as_posix(), read_archive_file(path, max_bytes=max_file_bytes)[0]))
        except BadFileError:
            continue
    from retrieval.parse.detect import choose_profile

    return choose_profile(texts)[0]


def _folder_profile(root: Path, notes: list[str]) -> Profile | None:
    """The profile the archive folder carries (``newsbot-profile.toml``), if any; a broken one is a note and the
    folder is read as if it had none."""
    path = root / FOLDER_PROFILE
    if not path.is_file():
        return None
    try:
        return load_profile(path)
    except ConfigError as err:
        notes.append(f"{err} (ignored: the archive is read without it)")
        return None


def _archive_files(root: Path) -> list[Path]:
    """The text files of the archive folder, or an :class:`ArchiveError` saying why there are none."""
    if root.is_file():
        raise ArchiveError(f"{root}: is a file, not an archive folder")
    if not root.is_dir():
        raise ArchiveError(f"{root}: archive folder not found")
    files = list(iter_archive_files(root))
    if not files:
        raise ArchiveError(f"no .md, .markdown or .txt files in {root}")
    return files


def _read_files(root: Path, files: list[Path], max_bytes: int, show: bool,
                skipped: list[SkippedFile]) -> tuple[list[_Read], list[tuple[_Read, str]]]:
    """Read every file: the clean texts, and the damaged ones with the codepage their mojibake came from.
    Unreadable files go to ``skipped``."""
    clean: list[_Read] = []
    damaged: list[tuple[_Read, str]] = []
    for path in _progress(files, "reading", show):
        rel = path.relative_to(root).as_posix()
        try:
            text, encoding = read_archive_file(path, max_bytes=max_bytes)
        except BadFileError as err:
            skipped.append(_skip(rel, str(err)))
            continue
        codepage = detect_mojibake(text)
        if codepage is None:
            clean.append(_Read(rel, text, encoding))
        else:
            damaged.append((_Read(rel, text, encoding), codepage))
    return clean, damaged


def _repair_all(damaged: list[tuple[_Read, str]], context: list[str], options: LoadOptions,
                lm_factory: Callable[[], CharLM] | None, issues: list[Issue],
                skipped: list[SkippedFile], profile: Profile | None = None) -> list[RepairReport]:
    """Repair and parse each damaged file (its issue goes to ``issues``); one report per file."""
    # A custom model has no fingerprint we could trust, so it is never cached.
    cache = (RepairCache(options.cache_dir, model_fingerprint(options.userdict, context))
             if options.cache_dir is not None and lm_factory is None else None)
    lm: CharLM | None = None
    repairs: list[RepairReport] = []
    try:
        for item, codepage in damaged:
            result = cache.get(item.text) if cache is not None else None
            if result is None:
                if lm is None:  # built only when some file is not in the cache: it costs seconds
                    base = lm_factory() if lm_factory is not None else CharLM.from_jieba(options.userdict)
                    lm = base.with_context(context)
                result = repair_text(item.text, lm)
                if cache is not None:
                    cache.put(item.text, result)
            repairs.append(RepairReport(item.rel, result.codepage or codepage, result.damaged,
                                        result.filled, result.uncertain))
            log.info("repaired %s: %s, %d damaged, %d filled, %d uncertain", item.rel,
                     result.codepage or codepage, result.damaged, result.filled, result.uncertain)
            issue = _parse(item.rel, result.text, skipped, profile)
            if issue is not None:
                issues.append(dataclasses.replace(issue, repaired=True, uncertain_chars=result.uncertain))
    finally:
        if cache is not None:
            cache.close()
    return repairs


def _parse(rel: str, text: str, skipped: list[SkippedFile], profile: Profile | None = None) -> Issue | None:
    parsed = _parse_one((rel, text, profile))
    if isinstance(parsed, str):
        skipped.append(_skip(rel, parsed))
        return None
    return parsed


def _parse_one(item: tuple[str, str, Profile | None]) -> Issue | str:
    """An issue, or the reason the file has none. Module-level so worker processes can run it."""
    rel, text, profile = item
    from retrieval.parse import ParseError, parse_markdown  # not at the top: a saved archive is not parsed

    try:
        issue = parse_markdown(text, path=rel, profile=profile)
    except ParseError as err:
        return f"no usable content ({err})"
    except Exception as err:  # per-file boundary: one parser bug must not sink the archive
        log.exception("parser failed on %s", rel)
        return f"parser error ({type(err).__name__}: {err})"
    return dataclasses.replace(issue, path=rel)


def _parse_all(items: list[_Read], workers: int, show: bool, profile: Profile | None = None
               ) -> Iterable[Issue | str]:
    pairs = [(r.rel, r.text, profile) for r in items]
    if workers <= 1 or len(pairs) < PARALLEL_MIN_FILES:
        return [_parse_one(p) for p in _progress(pairs, "parsing", show)]
    # spawn, not fork: reindexing runs inside the bot, next to aiosqlite's and discord.py's threads.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(_progress_iter(pool.map(_parse_one, pairs, chunksize=32), len(pairs), "parsing", show))


def _skip(rel: str, reason: str) -> SkippedFile:
    log.warning("skipping %s: %s", rel, reason)
    return SkippedFile(rel, reason)


def _context_texts(clean: list[_Read], issues: list[Issue]) -> Iterable[str]:
    # Newsletter issues first: they share the damaged documents' vocabulary.
    newsletter = {i.path for i in issues if i.kind == "issue"}
    ordered = sorted(clean, key=lambda r: r.rel not in newsletter)
    budget = REPAIR_CONTEXT_CHARS
    for item in ordered:
        if budget <= 0:
            break
        budget -= len(item.text)
        yield item.text


def deduplicate(issues: Iterable[Issue]) -> tuple[list[Issue], list[SkippedFile]]:
    """Keep one issue per 原文 URL: a clean copy beats a repaired one, then the first path. Two issues whose ids
    (the URL's last path segment) agree but whose URLs do not (``…/article?id=1`` and ``?id=2``, ``…/01/index.html``
    and ``…/02/index.html``) are two issues: the later one's id gets the URL's hash, so neither is lost.

    >>> a = Issue("wk13", "A", "u", "issue", (), path="b.md", repaired=True)
    >>> b = Issue("wk13", "A", "u", "issue", (), path="c.md")
    >>> kept, dropped = deduplicate([a, b])
    >>> [i.path for i in kept], [d.path for d in dropped]
    (['c.md'], ['b.md'])
    >>> one = Issue("article", "One", "https://x.org/article?id=1", "issue", (), path="1.md")
    >>> two = Issue("article", "Two", "https://x.org/article?id=2", "issue", (), path="2.md")
    >>> [i.id for i in deduplicate([one, two])[0]]
    ['article', 'article-9e23b77e']
    """
    best: dict[str, Issue] = {}
    dropped: list[SkippedFile] = []
    for issue in sorted(issues, key=lambda i: (i.repaired, i.path)):
        winner = best.get(issue.id)
        if winner is not None and winner.source_url and issue.source_url and not same_link(winner.source_url,
                                                                                           issue.source_url):
            issue = _renamed(issue, f"{issue.id}-{link_hash(issue.source_url)}")
            winner = best.get(issue.id)
        if winner is None:
            best[issue.id] = issue
        else:
            why = "a clean copy" if issue.repaired and not winner.repaired else "another copy"
            dropped.append(SkippedFile(issue.path, f"duplicate of {winner.path} (same 原文 URL; {why} wins)"))
    return list(best.values()), dropped


def _renamed(issue: Issue, new_id: str) -> Issue:
    """The issue under another id; its entries follow, as each names its issue."""
    entries = tuple(dataclasses.replace(e, issue_id=new_id) for e in issue.entries)
    return dataclasses.replace(issue, id=new_id, entries=entries)


def sort_issues(issues: Iterable[Issue]) -> list[Issue]:
    """Newsletter issues oldest first (by date, then number), then other documents by path.

    >>> old = Issue("a", "A", None, "issue", (), date=dt.date(2020, 9, 6))
    >>> new = Issue("b", "B", None, "issue", (), date=dt.date(2021, 3, 28))
    >>> doc = Issue("c", "C", None, "document", (), path="x.md")
    >>> [i.id for i in sort_issues([doc, new, old])]
    ['a', 'b', 'c']
    """
    def key(issue: Issue) -> tuple[int, dt.date, int, str]:
        if issue.kind != "issue":
            return (1, dt.date.max, 0, issue.path or issue.id)
        return (0, issue.date or dt.date.max, issue.number or 0, issue.id)

    return sorted(issues, key=key)


def _progress_iter(items: Iterable[T], total: int, desc: str, show: bool) -> Iterable[T]:
    if not show:
        return items
    from tqdm import tqdm  # only with a bar to show: importing it is ~0.03 s of every start-up

    bar: Iterable[T] = tqdm(items, total=total, desc=desc, unit="file", file=sys.stderr, leave=False)
    return bar


def _progress(items: list[T], desc: str, show: bool) -> Iterable[T]:
    if not show:
        return items
    from tqdm import tqdm

    bar: Iterable[T] = tqdm(items, desc=desc, unit="file", file=sys.stderr, leave=False)
    return bar
