"""A newsletter's layout as data: what no generic rule can know about one archive, read from a TOML profile.

The generic reader (:mod:`retrieval.parse.generic`) needs no profile: front matter, headings, numbered lines and
link lists say where issues, sections and items are. A profile adds what only someone who read the newsletter
knows: which section holds an issue's features, which sections are not content (sponsors, jobs, events), the
sections' keys and labels, where a date hides, the language, how readers name an issue. Akira's Machine Learning
News is a profile too (``layout = "akira"``: its Medium-export quirks keep their own reader).

Bundled profiles live in ``retrieval/profiles/*.toml`` (shipped in the wheel); a user's profile is any TOML file of
the same schema. :func:`load_profile` takes either a bundled name or a path; :func:`detect_profile` picks one for
a folder from the profiles' ``[match]`` rules. The schema is :class:`Profile`; ``docs/newsletters.md`` documents
it field by field.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Literal

import msgspec

from retrieval.errors import ConfigError
from retrieval.models import Issue

__all__ = [
    "GENERIC",
    "GENERIC_NEWSLETTER",
    "Dates",
    "Features",
    "Match",
    "Profile",
    "SectionRule",
    "bundled_profiles",
    "detect_profile",
    "load_profile",
    "profile_for_file",
    "profile_notes",
]


class SectionRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One section the profile names: its stable key, its labels, and the headings that mean it."""

    key: str
    """The key entries carry and filters use (``papers``); stable across the newsletter's renamings."""
    label: str = ""
    """The section's name in the newsletter's language (``论文``); default: the key."""
    label_en: str = ""
    """Its English name (``Papers``), shown next to the label; empty shows the label alone."""
    match: str = ""
    """A regular expression searched in a heading's text: the headings that open this section (aliases)."""


class Features(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Which items are an issue's features (what ``/features`` and the digest show)."""

    sections: tuple[str, ...] = ()
    """Section keys or heading regexes whose items are features (``本周特稿``, ``Crate of the Week``)."""
    title_section: bool = False
    """The section whose heading the issue's title repeats (an opening essay named in the title) is a feature."""
    whole: bool = False
    """A feature section is one item (an essay), not cut into its numbered paragraphs."""
    first_section: bool = True
    """When no rule above finds one, the first content section's items are the features."""
    key: str = ""
    """One section key (and label) for every feature section the rules find (``本周话题`` for essays each headed by
    their own title); empty keeps each section's own."""


class Dates(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where an issue's date is when neither front matter nor the file name gives it."""

    pattern: str = ""
    """A regex with named groups ``y``, ``m``, ``d`` searched in the whole text; the latest valid match wins
    (科技爱好者周刊 names its images after their upload day: ``bg2025052506.webp``)."""
    weekday: int | None = msgspec.field(default=None)
    """Move a date read by ``pattern`` forward to this weekday (0 Monday … 6 Sunday): the day the issue appears."""


class Match(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How a folder is recognised as this newsletter's (auto-detection); any rule that matches counts."""

    files: str = ""
    """A regex searched in a file's path relative to the archive (``issue-\\d+\\.md``)."""
    title: str = ""
    """A regex searched in a file's title (front matter ``title``, else its first heading)."""
    front_matter: dict[str, str] = {}
    """Front matter keys and the regex their value must match (``category = "This Week in Rust"``)."""


class Profile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A newsletter archive's profile (one TOML file)."""

    name: str
    """Short name (``ruanyf-weekly``); a bundled profile is loaded by it."""
    title: str = ""
    """The newsletter's name for people (``科技爱好者周刊``)."""
    layout: Literal["generic", "akira"] = "generic"
    """Which reader cuts issues into items: the generic one, or Akira's Medium-export reader."""
    language: Literal["zh", "en"] = "en"
    """The newsletter's language."""
    match: Match = Match()
    sections: tuple[SectionRule, ...] = ()
    """Sections with their own key and labels, tried in order; other headings are sections named by their text."""
    skip: tuple[str, ...] = ()
    """Regexes on heading text: sections that are not content (sponsors, jobs, events, past issues)."""
    end: tuple[str, ...] = ()
    """Regexes on lines: the issue's content ends at the first line one matches (a colophon, a sign-off)."""
    features: Features = Features()
    dates: Dates = Dates()
    issue_ref: tuple[str, ...] = ()
    """How readers name an issue, ``{n}`` standing for its number (``TWiR {n}``, ``第 {n} 期``)."""
    every_file_is_issue: bool = True
    """Every file of the folder is an issue (False: only files with an issue number or date are; others are
    documents)."""

    def section_rule(self, heading: str) -> SectionRule | None:
        """The first section rule whose ``match`` finds ``heading``, else None.

        >>> akira = load_profile("akira")
        >>> akira.section_rule("1.本周特稿/新闻").key, akira.section_rule("用图网络预测天气") is None
        ('features', True)
        """
        for rule in self.sections:
            if rule.match and _regex(rule.match).search(heading):
                return rule
        return None

    def skips(self, heading: str) -> bool:
        """Whether a heading opens a section that is not content.

        >>> twir = load_profile("this-week-in-rust")
        >>> twir.skips("Upcoming Events"), twir.skips("Official")
        (True, False)
        """
        return any(_regex(p).search(heading) for p in self.skip)

    def is_feature_section(self, key: str, heading: str) -> bool:
        """Whether a section (by key or heading) is one the profile names as features."""
        return any(s == key or _regex(s).search(heading) for s in self.features.sections)


GENERIC = Profile(name="generic", every_file_is_issue=False)
"""No profile and no newsletter: a folder of articles, each a document, read as newsbot always read them."""
GENERIC_NEWSLETTER = Profile(name="generic", every_file_is_issue=True)
"""No profile, but most files carry an issue number or date: the generic reader, every file an issue."""



@functools.cache
def compiled(pattern: str) -> re.Pattern[str]:
    """A profile's regex, compiled once per process (case-insensitive, as every profile pattern is)."""
    return re.compile(pattern, re.IGNORECASE)


_regex = compiled


def _check(profile: Profile, where: str) -> Profile:
    """Compile every regex of the profile now, so a bad one names its key at load time, not mid-parse."""
    checks: list[tuple[str, str]] = [(f"sections[{n}].match", r.match) for n, r in enumerate(profile.sections)]
    checks += [(f"skip[{n}]", p) for n, p in enumerate(profile.skip)]
    checks += [(f"end[{n}]", p) for n, p in enumerate(profile.end)]
    checks += [(f"features.sections[{n}]", p) for n, p in enumerate(profile.features.sections)]
    checks += [("dates.pattern", profile.dates.pattern), ("match.files", profile.match.files),
               ("match.title", profile.match.title)]
    checks += [(f"match.front_matter.{k}", v) for k, v in profile.match.front_matter.items()]
    for key, pattern in checks:
        try:
            _regex(pattern)
        except re.error as err:
            raise ConfigError(f"{where}: {key}: not a valid regular expression ({err})") from None
    if profile.dates.pattern and not {"y", "m", "d"} <= set(_regex(profile.dates.pattern).groupindex):
        raise ConfigError(f"{where}: dates.pattern: needs the named groups y, m and d")
    if profile.dates.weekday is not None and not 0 <= profile.dates.weekday <= 6:
        raise ConfigError(f"{where}: dates.weekday: must be 0 (Monday) to 6 (Sunday)")
    return profile


def parse_profile(text: str, where: str = "profile") -> Profile:
    """A profile from TOML text; :class:`ConfigError` names the file and the bad key.

    >>> parse_profile('name = "x"\\nlanguage = "zh"').language
    'zh'
    >>> parse_profile('name = "x"\\nskip = ["("]', "my.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: my.toml: skip[0]: not a valid regular expression (missing ), ...
    >>> parse_profile('name = "x"\\nlanguge = "zh"', "my.toml")
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: my.toml: Object contains unknown field `languge`
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where}: not valid TOML ({err})") from None
    try:
        profile = msgspec.convert(data, Profile)
    except msgspec.ValidationError as err:
        raise ConfigError(f"{where}: {err}") from None
    return _check(profile, where)


def _bundled_dir() -> Path:
    return Path(str(files("retrieval") / "profiles"))


@functools.cache
def bundled_profiles() -> tuple[Profile, ...]:
    """The profiles shipped with newsbot, Akira's first (it is the default for the bundled sample archive)."""
    found = [parse_profile(p.read_text(encoding="utf-8"), p.name) for p in sorted(_bundled_dir().glob("*.toml"))]
    return tuple(sorted(found, key=lambda p: p.name != "akira"))


def load_profile(name_or_path: str | Path) -> Profile:
    """A bundled profile by name (``ruanyf-weekly``), or a TOML file by path.

    >>> load_profile("this-week-in-rust").language
    'en'
    >>> load_profile("no-such-newsletter")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: profile 'no-such-newsletter': neither a bundled profile (akira, ...) nor a file
    """
    text = str(name_or_path)
    for profile in (*bundled_profiles(), GENERIC):
        if profile.name == text:
            return profile
    path = Path(text).expanduser()
    if not path.is_file():
        names = ", ".join(sorted(p.name for p in (*bundled_profiles(), GENERIC)))
        raise ConfigError(f"profile {text!r}: neither a bundled profile ({names}) nor a file")
    try:
        body = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the profile ({err})") from None
    return parse_profile(body, str(path))


def matches(profile: Profile, rel: str, title: str, front: dict[str, str]) -> bool:
    """Whether one file (its path, title and front matter) looks like this profile's newsletter.

    >>> twir = load_profile("this-week-in-rust")
    >>> matches(twir, "2024-01-03-this-week-in-rust.md", "This Week in Rust 528", {})
    True
    >>> matches(twir, "issue-350.md", "科技爱好者周刊（第 350 期）", {})
    False
    """
    rule = profile.match
    if rule.files and _regex(rule.files).search(rel):
        return True
    if rule.title and title and _regex(rule.title).search(title):
        return True
    return any(k in front and _regex(v).search(front[k]) for k, v in rule.front_matter.items())


def profile_for_file(rel: str, title: str, front: dict[str, str],
                     candidates: Iterable[Profile] | None = None) -> Profile | None:
    """The first bundled (or given) profile one file matches, else None."""
    for profile in candidates if candidates is not None else bundled_profiles():
        if matches(profile, rel, title, front):
            return profile
    return None


def detect_profile(votes: Iterable[Profile | None]) -> Profile:
    """The archive's profile from each file's match: the most common one, Akira's on a tie (the bundled sample's),
    :data:`GENERIC` when no file matches any.

    >>> akira, twir = load_profile("akira"), load_profile("this-week-in-rust")
    >>> detect_profile([twir, twir, None, akira]).name, detect_profile([None]).name
    ('this-week-in-rust', 'generic')
    """
    counts = Counter(p.name for p in votes if p is not None)
    if not counts:
        return GENERIC
    order = {p.name: n for n, p in enumerate(bundled_profiles())}
    best = max(counts, key=lambda name: (counts[name], -order.get(name, 99)))
    return load_profile(best)


def snap_to_weekday(date: dt.date, weekday: int | None) -> dt.date:
    """``date`` moved forward (0–6 days) to ``weekday``; unchanged when ``weekday`` is None.

    >>> snap_to_weekday(dt.date(2025, 5, 27), 4), snap_to_weekday(dt.date(2025, 5, 30), 4)
    (datetime.date(2025, 5, 30), datetime.date(2025, 5, 30))
    """
    if weekday is None:
        return date
    return date + dt.timedelta(days=(weekday - date.weekday()) % 7)


def profile_notes(profile: Profile, issues: Sequence[Issue], *, sections: bool = True) -> list[str]:
    """One line per thing that loaded but looks wrong: an issue with no items, a section or feature rule of the
    profile that no issue has (a misspelt heading, or a profile meant for another newsletter; only with
    ``sections``, for a profile someone chose).

    >>> from retrieval.models import Entry
    >>> p = parse_profile('name = "x"\\n[[sections]]\\nkey = "news"\\nmatch = "^News$"\\n'
    ...                   '[features]\\nsections = ["Crate"]')
    >>> profile_notes(p, [Issue("a", "A", None, "issue", (), path="a.md"),
    ...                   Issue("b", "B", None, "issue", (Entry("b", 0, "Jobs", "t", None, ""),), path="b.md")])
    ['a.md: an issue with no items', "profile x: sections[0] (key 'news'): no issue has this section", \
"profile x: features.sections[0] ('Crate'): no issue has this section"]
    """
    notes: list[str] = []
    newsletter = [i for i in issues if i.kind == "issue"]
    notes += [f"{i.path or i.id}: an issue with no items" for i in newsletter if not i.entries]
    if not newsletter or not sections:
        return notes
    names = {(e.section, e.section_name) for i in newsletter for e in i.entries}
    for n, rule in enumerate(profile.sections):
        if not any(key == rule.key for key, _ in names):
            notes.append(f"profile {profile.name}: sections[{n}] (key {rule.key!r}): no issue has this section")
    for n, pattern in enumerate(profile.features.sections):
        if not any(key == pattern or compiled(pattern).search(label) for key, label in names):
            notes.append(f"profile {profile.name}: features.sections[{n}] ({pattern!r}): no issue has this section")
    return notes
