"""Draw the held-out evaluation targets: a seeded shuffle of every (issue, item link) pair of the archive.

The draw reads the raw markdown, not newsbot's parser, so items the parser misses today are drawn as often
as the ones it indexes. A pair is an issue file and one distinct outbound link in it (the 原文 line, images and
links to the newsletter's own pages are left out). Links of the dev set
(``retrieval/measure/questions/dev.toml``) are left out so the two sets never share a target. The writer of
``heldout.toml`` walks the list in order and skips only links that are not items (an author's profile, a
subscribe page), saying so in the file's header. ``heldout.toml`` took targets 1-67; ``dev_blind.toml`` was written
the same way from targets 68-222, leaving out questions whose link is also a held-out or dev target (one link can be
drawn once per issue that carries it).

    python tests/support/eval/draw_heldout.py ../shared/corpus/akira > /tmp/targets.tsv
"""

from __future__ import annotations

import random
import re
import sys
import tomllib
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SEED = 20261201
_LINK = re.compile(r"\]\((https?://[^)\s]+)\)|<(https?://[^>\s]+)>")
_OWN = ("medium.com/@akira", "medium.com/analytics-vidhya/akira", "getrevue.co/profile", "twitter.com/akiratosei")


def normalize(url: str) -> str:
    """Drop tracking parameters so one link is one target.

    >>> normalize("https://x.org/a?utm_source=r&id=3")
    'https://x.org/a?id=3'
    >>> normalize("https://medium.com/p/abc?source=collection_archive---------16-----")
    'https://medium.com/p/abc'
    """
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.startswith("utm_") and k != "source"]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def pairs(archive: Path) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path in sorted(archive.glob("*.md")):
        seen: set[str] = set()
        for line in path.read_text(encoding="utf-8").splitlines():
            if "原文" in line:
                continue
            for m in _LINK.finditer(line):
                url = normalize(m.group(1) or m.group(2))
                if "/img/" in url or any(own in url.lower() for own in _OWN) or url in seen:
                    continue
                seen.add(url)
                found.append((path.stem, url))
    return found


def main() -> None:
    archive = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus/akira")
    dev = Path(__file__).resolve().parents[3] / "retrieval" / "measure" / "questions" / "dev.toml"
    with dev.open("rb") as fh:
        dev_links = {normalize(u) for q in tomllib.load(fh)["question"] for u in q["expected"]}
    drawn = [p for p in pairs(archive) if p[1] not in dev_links]
    random.Random(SEED).shuffle(drawn)
    for n, (issue, url) in enumerate(drawn, 1):
        print(f"{n}\t{issue}\t{url}")


if __name__ == "__main__":
    main()
