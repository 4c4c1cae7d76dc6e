"""Draw evaluation targets from any newsletter archive: a seeded shuffle of every (issue, item link) pair.

A generalization of ``draw_heldout.py`` (which is fixed to the akira archive, one seed and one dev file). The draw
reads the raw markdown of every ``*.md`` file in ARCHIVE_DIR, not newsbot's parser, so items the parser misses are
drawn as often as the ones it indexes. A pair is an issue file and one distinct outbound link in it, inline
(``[text](url)``, ``<url>``) or reference-style (``[label]: url``, used by early This Week in Rust issues).
Left out:

* images (``![alt](url)``) and image files;
* the newsletter's own pages and boilerplate: ruanyf's GitHub issue board, cdn.beekka.com and ruanyifeng.com
  (the "往年回顾" back-links point there); this-week-in-rust.org, the TWiR repository, its social accounts, the
  crate-of-the-week / quote-of-the-week / call-for-participation threads, merged-PR searches, perf pages;
* every link under a heading about events, jobs, subscribing, sponsors, new contributors or back-issues
  (up to the next heading of the same or a higher level), and GitHub profile links (``github.com/<user>``);
* any link whose host ends with a domain given by ``--exclude-domain`` (repeatable).

The writer of a question set walks the list in order and skips only links that are not items a reader would search
for, naming them in the set's header.

    python tests/support/eval/draw_targets.py ../shared/corpus/this-week-in-rust --seed 7 > /tmp/targets.tsv
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_INLINE = re.compile(r"(!?)\[[^\]]*\]\((https?://[^)\s]+)\)|<(https?://[^>\s]+)>")
_REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(https?://[^>\s]+)>?")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".avif")
_SKIP_SECTION = re.compile(
    r"event|job|hiring|fn work|new contributors|subscribe|sponsor|往年回顾|订阅|招聘|谁在招人|鸣谢|活动",
    re.IGNORECASE,
)
# (host suffix, path prefix); an empty path prefix excludes the whole host.
_OWN: tuple[tuple[str, str], ...] = (
    ("github.com", "/ruanyf/weekly"),
    ("cdn.beekka.com", ""),
    ("ruanyifeng.com", ""),
    ("this-week-in-rust.org", ""),
    ("github.com", "/rust-lang/this-week-in-rust"),
    ("github.com", "/cmr/this-week-in-rust"),
    ("github.com", "/search"),
    ("twitter.com", "/thisweekinrust"),
    ("mastodon.social", "/@thisweekinrust"),
    ("users.rust-lang.org", "/t/crate-of-the-week"),
    ("users.rust-lang.org", "/t/twir-quote-of-the-week"),
    ("users.rust-lang.org", "/t/twir-call-for-participation"),
    ("perf.rust-lang.org", ""),
    ("google.com", "/calendar"),
    ("meetup.com", ""),
    ("eventbrite.com", ""),
    ("example.com", ""),
    ("list-manage.com", ""),
    ("x.com", "/thisweekinrust"),
    ("bsky.app", "/profile/thisweekinrust"),
    ("rust-lang.org", "/team.html"),
    ("forge.rust-lang.org", "/compiler/mcp.html"),
    ("rustaceans.org", "/findwork"),
)
# Boilerplate GitHub pages: the contributing guide, and listings (labels, searches) rather than one issue or PR.
_GITHUB_LISTING = frozenset({"labels", "pulls", "issues", "commits"})
_GITHUB_NON_USERS = frozenset({"orgs", "topics", "trending", "features", "marketplace", "sponsors", "about"})


def normalize(url: str) -> str:
    """Drop tracking parameters and the fragment so one link is one target.

    >>> normalize("https://x.org/a?utm_source=r&id=3#top")
    'https://x.org/a?id=3'
    >>> normalize("https://example.com/post?source=rss")
    'https://example.com/post'
    """
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_") and k != "source"
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _host_matches(host: str, domain: str) -> bool:
    """True when host is domain or one of its subdomains.

    >>> _host_matches("www.ruanyifeng.com", "ruanyifeng.com")
    True
    >>> _host_matches("notruanyifeng.com", "ruanyifeng.com")
    False
    """
    return host == domain or host.endswith("." + domain)


def excluded(url: str, extra_domains: Iterable[str] = ()) -> bool:
    """True for links that are never items: images, the newsletter's own pages, boilerplate, profiles.

    >>> excluded("https://cdn.beekka.com/blogimg/asset/202405/bg2024051501.webp")
    True
    >>> excluded("https://github.com/ruanyf/weekly/issues/4390")
    True
    >>> excluded("https://github.com/nellshamrell")
    True
    >>> excluded("https://www.meetup.com/rust-nyc/events/1/")
    True
    >>> excluded("https://github.com/rust-lang/rust/pull/119251")
    False
    >>> excluded("https://example.org/a", ["example.org"])
    True
    >>> excluded("https://x.org/diagram.PNG")
    True
    >>> excluded("https://github.com/rust-lang/rfcs/labels/final-comment-period")
    True
    >>> excluded("https://github.com/rust-lang/rust/issues?q=is%3Aopen+label%3Afinal-comment-period")
    True
    >>> excluded("https://github.com/rust-lang/rfcs/pull/3550")
    False
    >>> excluded("https://foundation.rust-lang.org/")
    True
    """
    parts = urlsplit(url)
    host = parts.netloc.lower().split(":")[0]
    path = parts.path.rstrip("/").lower()
    if path.endswith(_IMAGE_EXT):
        return True
    for domain, prefix in _OWN:
        if _host_matches(host, domain) and path.startswith(prefix.lower()):
            return True
    if any(_host_matches(host, d.lower().lstrip(".")) for d in extra_domains):
        return True
    segments = [s for s in path.split("/") if s]
    if host in ("github.com", "www.github.com"):
        if len(segments) <= 1:
            return not segments or segments[0] not in _GITHUB_NON_USERS
        if segments[-1] == "contributing.md" or (segments[0], segments[1:]) == ("rust-lang", ["rfcs"]):
            return True
        if len(segments) >= 3 and segments[2] in _GITHUB_LISTING and not segments[-1].isdigit():
            return True
    if "this_week_in_rust" in path:  # the issue's own discussion thread on r/rust
        return True
    return not segments and _host_matches(host, "rust-lang.org")


def links_of(text: str) -> Iterator[str]:
    """Yield the outbound links of a markdown text in order, outside skipped sections, images left out.

    >>> list(links_of("## 工具\\n[a](https://a.org/x) ![](https://b.org/y)\\n## 往年回顾\\n[c](https://c.org)"))
    ['https://a.org/x']
    >>> list(links_of("<!-- [x](https://x.org/1) -->\\n[y](https://y.org/2)"))
    ['https://y.org/2']
    >>> list(links_of("# Upcoming Events\\n### Europe\\n<https://e.org/1>\\n# Quote\\n[q]: https://q.org/2"))
    ['https://q.org/2']
    """
    skip_level = 0
    text = _COMMENT.sub("", text)
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            if skip_level and level <= skip_level:
                skip_level = 0
            if not skip_level and _SKIP_SECTION.search(heading.group(2)):
                skip_level = level
                continue
        if skip_level:
            continue
        ref = _REFDEF.match(line)
        if ref:
            yield ref.group(1)
            continue
        for m in _INLINE.finditer(line):
            if m.group(1):
                continue
            yield m.group(2) or m.group(3)


def pairs(archive: Path, extra_domains: Iterable[str] = ()) -> list[tuple[str, str]]:
    """Every (file stem, distinct normalized link) pair of the archive, files in name order."""
    extra = list(extra_domains)
    found: list[tuple[str, str]] = []
    for path in sorted(archive.glob("*.md")):
        seen: set[str] = set()
        for raw in links_of(path.read_text(encoding="utf-8")):
            url = normalize(raw)
            if url in seen or excluded(url, extra):
                continue
            seen.add(url)
            found.append((path.stem, url))
    return found


def draw(archive: Path, seed: int, extra_domains: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The archive's pairs in the seeded shuffle order."""
    drawn = pairs(archive, extra_domains)
    random.Random(seed).shuffle(drawn)
    return drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--exclude-domain", action="append", default=[], metavar="DOMAIN")
    args = parser.parse_args()
    for n, (issue, url) in enumerate(draw(args.archive, args.seed, args.exclude_domain), 1):
        print(f"{n}\t{issue}\t{url}")


if __name__ == "__main__":
    main()
