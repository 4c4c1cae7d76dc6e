"""Which newsletter a folder holds: each file's title and front matter against the bundled profiles' ``[match]``
rules, and the files that belong to another newsletter than the folder's.

Only each file's first lines are read here, so detection costs little next to parsing.
"""

from __future__ import annotations

from collections.abc import Sequence

from retrieval.errors import ParseError
from retrieval.markdown import clean_inline
from retrieval.parse.frontmatter import date_in, front_matter
from retrieval.parse.generic import issue_number
from retrieval.parse.lines import HEADING, prepare
from retrieval.profile import GENERIC, GENERIC_NEWSLETTER, Profile, detect_profile, matches, profile_for_file

_HEAD_CHARS = 4000


def file_identity(text: str) -> tuple[str, dict[str, str]]:
    """A file's title (front matter's, else its first heading) and its front matter, from its first lines.

    >>> file_identity("Title: This Week in Rust 57\\nDate: 2014-11-17\\n\\nHello")
    ('This Week in Rust 57', {'title': 'This Week in Rust 57', 'date': '2014-11-17'})
    >>> file_identity("\\n# 科技爱好者周刊（第 160 期）\\n")[0]
    '科技爱好者周刊（第 160 期）'
    """
    try:
        lines = prepare(text[:_HEAD_CHARS])
    except ParseError:
        return "", {}
    front, start = front_matter(lines)
    if front.get("title"):
        return front["title"], front
    for line in lines[start:start + 20]:
        if m := HEADING.match(line):
            return clean_inline(m.group(2) or ""), front
    return "", front


def choose_profile(files: Sequence[tuple[str, str]], explicit: Profile | None = None
                   ) -> tuple[Profile, list[tuple[str, str]]]:
    """The archive's profile (``explicit``, else the one most files match) and the files of another newsletter,
    each with that newsletter's name. When no bundled profile matches, a folder where most files carry an issue
    number or date is a newsletter (:data:`~retrieval.profile.GENERIC_NEWSLETTER`: every file an issue); any other
    folder is read as it always was (:data:`~retrieval.profile.GENERIC`: articles are documents).

    >>> twir = ("2024-01-03-twir.md", "Title: This Week in Rust 528\\nCategory: This Week in Rust\\n\\nx")
    >>> ruanyf = ("issue-350.md", "# 科技爱好者周刊（第 350 期）：Java\\n")
    >>> profile, foreign = choose_profile([twir, twir, ruanyf])
    >>> profile.name, foreign
    ('this-week-in-rust', [('issue-350.md', 'ruanyf-weekly')])
    """
    votes: list[Profile | None] = []
    identities = []
    for rel, text in files:
        title, front = file_identity(text)
        identities.append((rel, title, front))
        votes.append(profile_for_file(rel, title, front))
    profile = explicit or detect_profile(votes)
    if profile is GENERIC and identities:
        dated = sum(1 for rel, title, front in identities
                    if issue_number(front, title, rel) is not None or date_in(front.get("date", "") or rel))
        if dated * 2 > len(identities):
            profile = GENERIC_NEWSLETTER
    foreign = []
    if profile is not GENERIC:
        for (rel, title, front), vote in zip(identities, votes, strict=True):
            if vote is not None and vote.name != profile.name and not matches(profile, rel, title, front):
                foreign.append((rel, vote.name))
    return profile, foreign
