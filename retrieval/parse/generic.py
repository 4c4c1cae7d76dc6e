"""The generic newsletter reader: any folder of markdown issues, no configuration needed.

* **identity**: number, title and date from front matter (:mod:`retrieval.parse.frontmatter`), else the first
  heading (``第 350 期``, ``Issue 12``, ``… Weekly 528``), else the file name (``issue-350.md``,
  ``2024-01-03-….md``); a profile's ``dates.pattern`` finds a date the file only implies.
* **sections** are the headings of the level most headings of level 1–2 use; deeper headings group items
  (a heading over a list) or are items themselves (a heading over prose).
* **items**: within a block of lines between two headings, one kind of line opens items, the first found of
  numbered lines (``1.``, ``1、``, ``（1）``, also in bold), top-level bullets with a link, table rows with a link,
  then paragraphs that open with a link or an embed card. Each item keeps the lines under it as its summary and
  every link it holds. A section with no such lines is one item (an essay, a quote).
* **features**: the profile's feature sections, else the first content section's items.

One pass over the lines to classify them and one over the blocks, so time is linear in the file's size.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from retrieval.errors import ParseError
from retrieval.links import link_key
from retrieval.markdown import clean_block, clean_inline, find_urls, is_separator, strip_asterisks
from retrieval.models import Entry, Issue
from retrieval.parse.frontmatter import date_in, front_matter, number_in_file_name
from retrieval.parse.lines import HEADING, fallback_title, line_kinds, prepare, stem_id
from retrieval.profile import Profile, compiled, snap_to_weekday

_NUMBERED = re.compile(r"^[ \t]{0,3}(?:\*\*|__)?[ \t]*(?:\d{1,3}[ \t]*[、.．](?![\d.])|[（(][ \t]*\d{1,3}[ \t]*[）)])")
_BULLET = re.compile(r"^[ \t]?[*+\-][ \t]+\S")
_TABLE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$")
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t:\-|]+\|?[ \t]*$")
_LINK_LINE = re.compile(r"^[ \t]*(?:\*\*|__)?[ \t]*\[[^\]\n]*[^\]\s][^\]\n]*\]\(")
_LINK_TEXT = re.compile(r"\[([^\[\]\n]{1,200})\]\(")
_REF_DEF = re.compile(r"^[ \t]{0,3}\[([^\[\]\n]{1,200})\]:[ \t]*(\S+)")
_SPLIT_CLOSE = re.compile(r"^[^\[\]\n]*\]\[[^\[\]\n]{0,200}\]")
_REF_USE = re.compile(r"\[([^\[\]\n]{0,500})\]\[([^\[\]\n]{0,200})\]")
_HAS_LINK = re.compile(r"\]\((?:https?:|/)|https?://")
_COMMENT_OPEN, _COMMENT_CLOSE = "<!--", "-->"
_TITLE_NUMBER = re.compile(
    r"第\s*(\d{1,5})\s*期|#\s?(\d{1,5})(?![\d年])|\bissue\s*#?\s*(\d{1,5})\b|\b(?:no\.?|number)\s*(\d{1,5})\b"
    r"|(?<![\d.\-/])(\d{1,5})\s*$",
    re.IGNORECASE | re.ASCII,
)
_YEARS = (1900, 2100)
"""A title ending in a year (``Notes 2024``) names no issue number."""
_DATE_SPREAD = dt.timedelta(days=14)
"""A gap this long before an issue's latest date makes that date an outlier (an image replaced much later)."""
_SENTENCE_END = re.compile(r"[。！？!?]|[.;；]\s")
_TITLE_MAX = 80
_NORM = re.compile(r"[\W_]+")
# Only the first sections can be the opening essay the title names (a later "文章" section never is).
_TITLE_SECTION_WINDOW = 3
_NUMBERED_KIND, _BULLET_KIND, _TABLE_KIND, _LINK_KIND = "numbered", "bullet", "table", "link"
_STARTER_ORDER = (_NUMBERED_KIND, _BULLET_KIND, _TABLE_KIND, _LINK_KIND)


@dataclass
class _Block:
    """The lines under one heading, up to the next heading of any level."""

    heading: str
    level: int
    start: int
    end: int
    starters: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class _Item:
    section: int
    line: int
    header: str
    body: list[str]
    heading: bool = False


@dataclass
class _Section:
    key: str
    label: str
    label_en: str
    heading: str
    feature: bool
    whole: bool
    items: list[_Item] = field(default_factory=list)


def parse_generic(text: str, *, path: str = "", profile: Profile) -> Issue:
    """One issue of a newsletter with a generic layout.

    >>> md = "Title: Weekly #7\\nDate: 2024-01-05\\n\\n## News\\n\\n* [A thing](https://a.example/1) happened\\n"
    >>> md += "* [Another](https://b.example/2)\\n\\n## Quote of the Week\\n\\n> Words.\\n"
    >>> from retrieval.profile import GENERIC
    >>> issue = parse_generic(md, path="w7.md", profile=GENERIC)
    >>> issue.kind, issue.number, str(issue.date), [(e.section, e.title, e.url, e.feature) for e in issue.entries]
    ('issue', 7, '2024-01-05', [('News', 'A thing happened', 'https://a.example/1', True), \
('News', 'Another', 'https://b.example/2', True), ('Quote of the Week', 'Quote of the Week', None, False)])
    """
    lines = prepare(text)
    front, start = front_matter(lines)
    title, body_start = _title(lines, start, front)
    title = title or fallback_title(lines, body_start, path)
    if not title:
        raise ParseError("no heading and no text")
    number = issue_number(front, title, path, loose=profile.every_file_is_issue)
    date = date_in(front.get("date", "")) or date_in(_file_name(path)) or _pattern_date(text, profile)
    issue_id = _safe_id(front.get("slug", "")) or stem_id(path, text)
    entries = _entries(lines, body_start, issue_id, title, profile)
    if not entries and not title:
        raise ParseError("no heading and no text")
    is_issue = profile.every_file_is_issue or number is not None or date is not None
    return Issue(
        id=issue_id, title=title, source_url=None, kind="issue" if is_issue else "document", entries=entries,
        number=number, year=date.year if date else None, date=date,
    )


def _file_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _safe_id(slug: str) -> str:
    return stem_id(slug + ".md", slug) if slug.strip() else ""


def _title(lines: Sequence[str], start: int, front: dict[str, str]) -> tuple[str, int]:
    """The title (front matter's, else a level-1 heading as the first line) and where the body starts."""
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    m = HEADING.match(lines[i]) if i < len(lines) else None
    heading = clean_inline(m.group(2) or "") if m and len(m.group(1)) == 1 else ""
    title = clean_inline(front.get("title", "")) or heading
    return title, (i + 1 if heading else start)


def issue_number(front: dict[str, str], title: str, path: str, *, loose: bool = False) -> int | None:
    """The issue number: front matter's, else the title's, else the file name's. A bare number ending the title
    (``Weekly 528``) counts only when the folder is known to be a newsletter (``loose``): ``笔记 3`` is a note.

    >>> issue_number({}, "科技爱好者周刊（第 350 期）：Java 三十周年", "")
    350
    >>> issue_number({"number": "12"}, "x", ""), issue_number({}, "Notes", "issue-9.md")
    (12, 9)
    >>> issue_number({}, "Notes", "notes.md") is None
    True
    >>> issue_number({}, "笔记 3", "note-3.md"), issue_number({}, "Weekly 528", "", loose=True)
    (None, 528)
    """
    raw = front.get("number", "") or front.get("issue", "")
    if raw.strip().isdigit():
        return int(raw.strip())
    if (m := _TITLE_NUMBER.search(title)) and not (m.group(5) and (not loose or _YEARS[0] <= int(m.group(5))
                                                                   <= _YEARS[1])):
        return int(next(g for g in m.groups() if g))
    return number_in_file_name(path) if path else None


def _pattern_date(text: str, profile: Profile) -> dt.date | None:
    """The latest date the profile's ``dates.pattern`` finds in the text, moved to its weekday. A latest date far
    after all others is an outlier (an image replaced a year later) and does not count.

    >>> from retrieval.profile import load_profile
    >>> text = "bg2018052301.png bg2018052502.png bg2018052403.png bg2019052502.png"
    >>> _pattern_date(text, load_profile("ruanyf-weekly"))
    datetime.date(2018, 5, 25)
    """
    if not profile.dates.pattern:
        return None
    found: list[dt.date] = []
    for m in compiled(profile.dates.pattern).finditer(text):
        try:
            found.append(dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d"))))
        except ValueError:
            continue
    if not found:
        return None
    found.sort()
    while len(found) > 1 and found[-1] - found[-2] > _DATE_SPREAD:
        found.pop()
    return snap_to_weekday(found[-1], profile.dates.weekday)


# -- lines and blocks -------------------------------------------------------------------------------------------


def _kinds(lines: Sequence[str], start: int) -> list[str]:
    """Per line: "fence", "card", "comment" (inside an HTML comment) or "" (ordinary markdown)."""
    kinds = line_kinds(lines, start)
    in_comment = False
    for i in range(start, len(lines)):
        if kinds[i]:
            continue
        line = lines[i]
        if in_comment or line.lstrip().startswith(_COMMENT_OPEN):
            kinds[i] = "comment"
            in_comment = _COMMENT_CLOSE not in line[line.find(_COMMENT_OPEN) + 4 if not in_comment else 0:]
    return kinds


def _starter(line: str, kind: str, prev_blank: bool) -> str:
    """What kind of item this line could open, or ""."""
    if kind == "card":
        return _LINK_KIND if prev_blank else ""
    if kind:
        return ""
    if _NUMBERED.match(line):
        return _NUMBERED_KIND
    if _BULLET.match(line) and _HAS_LINK.search(line):
        return _BULLET_KIND
    if _TABLE_ROW.match(line) and not _TABLE_RULE.match(line) and _HAS_LINK.search(line):
        return _TABLE_KIND
    if prev_blank and _LINK_LINE.match(line) and not line.lstrip().startswith("!"):
        return _LINK_KIND
    return ""


def _blocks(lines: list[str], start: int) -> list[_Block]:
    """The body cut at every heading; the first block (level 0) is the text before any heading. HTML comments
    (editors' notes, templates with sample links) are blanked out of ``lines``."""
    kinds = _kinds(lines, start)
    for i in range(start, len(lines)):
        if kinds[i] == "comment":
            lines[i] = ""
    blocks = [_Block("", 0, start, len(lines))]
    prev_blank = True
    for i in range(start, len(lines)):
        line = lines[i]
        m = None if kinds[i] else HEADING.match(line)
        if m and not is_separator(m.group(2) or ""):
            blocks[-1].end = i
            blocks.append(_Block(m.group(2) or "", len(m.group(1)), i + 1, len(lines)))
            prev_blank = True
            continue
        kind = _starter(line, kinds[i], prev_blank)
        if kind:
            blocks[-1].starters.setdefault(kind, []).append(i)
        if kinds[i] != "comment":
            # A card spans lines: only its first line can open an item.
            prev_blank = not line.strip() and not kinds[i]
    return blocks


def _section_level(blocks: Sequence[_Block]) -> int:
    """The heading level that opens sections: of levels 1 and 2, the one more headings use (a lone
    ``# Quote of the Week`` among ``##`` sections does not make ``#`` the section level)."""
    counts = {1: 0, 2: 0}
    deeper = 7
    for b in blocks:
        if b.level in counts:
            counts[b.level] += 1
        elif b.level:
            deeper = min(deeper, b.level)
    if not counts[1] and not counts[2]:
        return deeper if deeper < 7 else 2
    return 2 if counts[2] > counts[1] else 1


# -- sections and items -----------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return _NORM.sub("", text).lower()


def _title_names(title: str, heading: str) -> bool:
    """Whether the issue's title repeats this heading (after a ``：``): the opening essay it is named after."""
    h = _norm(heading)
    return len(h) >= 2 and h in _norm(title)


def _open_section(heading: str, profile: Profile, title: str, index: int) -> _Section:
    plain = clean_inline(heading)
    rule = profile.section_rule(plain)
    key = rule.key if rule else plain
    feature = profile.is_feature_section(key, plain) or (
        profile.features.title_section and index < _TITLE_SECTION_WINDOW and _title_names(title, plain))
    label = (rule.label if rule else "") or plain
    if feature and profile.features.key:
        key = label = profile.features.key
    return _Section(key=key, label=label, label_en=rule.label_en if rule else "",
                    heading=plain, feature=feature, whole=feature and profile.features.whole)


def _cut(block: _Block, lines: Sequence[str], section: int) -> list[_Item]:
    """The items of a block: the first kind of starter line it has opens them; lines above the first are dropped."""
    kind = next((k for k in _STARTER_ORDER if k in block.starters), "")
    if not kind:
        return []
    starts = block.starters[kind]
    first_text = next((i for i in range(block.start, block.end) if lines[i].strip()), block.end)
    if kind == _LINK_KIND and starts[0] != first_text:
        # Paragraphs opening with a link are items only in a block that starts with one (a list of links); in
        # prose ("[Please submit quotes…](…)" under a quote) they are the prose's.
        return []
    items = []
    for n, s in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else block.end
        items.append(_Item(section, s, lines[s], list(lines[s + 1:end])))
    return items


def _inline_references(lines: list[str], start: int) -> None:
    """Rewrite reference links (``[text][ref]`` with ``[ref]: url`` further down) as inline links, in place, and
    blank the definitions, so an item holds its own links and the last item not every definition.

    >>> lines = ["* [Racer][r]. [Reddit][]", "", "[r]: https://a.example/racer", "[reddit]: https://reddit.com/x"]
    >>> _inline_references(lines, 0); lines
    ['* [Racer](https://a.example/racer). [Reddit](https://reddit.com/x)', '', '', '']
    >>> lines = ["* Std [takes part in", "  gating][f], so.", "", "[f]: https://a.example/f"]
    >>> _inline_references(lines, 0); lines[:2]
    ['* Std [takes part in gating](https://a.example/f)', '  , so.']
    """
    defs: dict[str, str] = {}
    for i in range(start, len(lines)):
        if (m := _REF_DEF.match(lines[i])) is not None:
            defs.setdefault(m.group(1).strip().lower(), m.group(2).strip("<>"))
            lines[i] = ""
    if not defs:
        return

    def inline(m: re.Match[str]) -> str:
        url = defs.get((m.group(2) or m.group(1)).strip().lower())
        return f"[{m.group(1)}]({url})" if url else m.group(0)

    for i in range(start, len(lines)):
        if "][" in lines[i]:
            j = _join_split_text(lines, i, start)
            if j is not None:
                lines[j] = _REF_USE.sub(inline, lines[j])
            lines[i] = _REF_USE.sub(inline, lines[i])


def _join_split_text(lines: list[str], i: int, start: int) -> int | None:
    """A reference link whose text wraps (``[described on the`` / ``forum][f]``) is moved whole onto the line its
    text opens on (or, when that would leave this line blank and that one has words before the link, onto this one),
    so it is seen as one link and a bullet opened by it keeps its link. Returns the line the text opened on.

    >>> lines = ["* The impact is [described on the", "  forum][f]. [RFC][r]."]
    >>> _join_split_text(lines, 1, 0), lines
    (0, ['* The impact is [described on the forum][f]', '  . [RFC][r].'])
    >>> lines = ["* [A long", "title][t]"]
    >>> _join_split_text(lines, 1, 0), lines
    (0, ['* [A long title][t]', ''])
    >>> lines = ["* Read [a long", "title][t]"]
    >>> _join_split_text(lines, 1, 0), lines
    (0, ['* Read ', '[a long title][t]'])
    """
    line = lines[i]
    close = _SPLIT_CLOSE.match(line)
    if close is None:
        return None
    for j in range(i - 1, max(start, i - 3) - 1, -1):
        if not lines[j].strip():
            return None
        k = lines[j].rfind("[")
        if k >= 0 and "]" not in lines[j][k:]:
            break
    else:
        return None
    head, text = lines[j][:k].rstrip(), lines[j][k:].strip()
    middle = " ".join(x.strip() for x in lines[j + 1:i])
    link = " ".join(x for x in (text, middle, close.group(0).strip()) if x)
    rest = line[close.end():]
    indent = line[:len(line) - len(line.lstrip())]
    for n in range(j + 1, i):
        lines[n] = indent + "."  # keeps the paragraph unbroken; a lone stop adds no words
    if rest.strip() or not _without_marker(head):
        lines[j], lines[i] = f"{head} {link}".lstrip() if head else link, indent + rest.strip()
    else:
        lines[j], lines[i] = head + " ", indent + link + rest
    return j


def _entries(lines: list[str], start: int, issue_id: str, title: str, profile: Profile) -> tuple[Entry, ...]:
    _inline_references(lines, start)
    if profile.end:
        ends = [compiled(p) for p in profile.end]
        stop = next((i for i in range(start, len(lines)) if any(r.search(lines[i]) for r in ends)), len(lines))
        del lines[stop:]
    blocks = _blocks(lines, start)
    level = _section_level(blocks)
    sections: list[_Section] = []
    skip_below = 0  # a skipped heading's level: its blocks, and deeper ones, are not content
    has_sections = any(0 < b.level <= level for b in blocks)
    for k, block in enumerate(blocks):
        if block.level == 0 and has_sections:
            continue  # the intro above the first section: greetings and boilerplate
        if skip_below and block.level > skip_below:
            continue
        skip_below = 0
        plain = clean_inline(block.heading)
        if block.level and profile.skips(plain):
            skip_below = block.level
            continue
        if block.level <= level:
            sections.append(_open_section(block.heading or title, profile, title, len(sections)))
            _fill(sections[-1], block, lines, len(sections) - 1, own=True)
        elif sections:
            # A subheading over deeper ones (``### Final Comment Period`` over ``#### RFCs``) only groups them.
            group = k + 1 < len(blocks) and blocks[k + 1].level > block.level
            _fill(sections[-1], block, lines, len(sections) - 1, own=False, group=group)
    return _build(issue_id, sections, profile)


def _fill(section: _Section, block: _Block, lines: Sequence[str], index: int, *, own: bool,
          group: bool = False) -> None:
    """Add a block's items to its section (a whole section collects every line into one item)."""
    if section.whole:
        if not section.items:
            section.items.append(_Item(index, block.start - 1, section.heading, [], heading=True))
        section.items[0].body.extend(lines[block.start - (0 if own else 1):block.end])
        return
    items = _cut(block, lines, index)
    if items:
        section.items.extend(items)
    elif group:
        return
    elif own:
        # A section with no item lines of its own is one item, unless its subheadings bring items.
        section.items.append(_Item(index, block.start - 1, section.heading, list(lines[block.start:block.end]),
                                   heading=True))
    else:
        section.items.append(_Item(index, block.start - 1, clean_inline(block.heading),
                                   list(lines[block.start:block.end]), heading=True))


def _build(issue_id: str, sections: list[_Section], profile: Profile) -> tuple[Entry, ...]:
    rows: list[tuple[_Section, str, str | None, str, tuple[str, ...]]] = []
    for section in sections:
        kept = [it for it in section.items if not _empty_heading_item(it, section)]
        section.items = kept
        for item in kept:
            rows.append((section, *_item_fields(item)))
    features = {id(s) for s in sections if s.feature and s.items}
    if not features and profile.features.first_section:
        first = next((s for s in sections if s.items), None)
        features = {id(first)} if first is not None else set()
    return tuple(
        Entry(issue_id, pos, s.key, t, url, summary, id(s) in features, links,
              section_label=s.label if s.label != s.key else "", section_label_en=s.label_en)
        for pos, (s, t, url, summary, links) in enumerate(rows)
    )


def _empty_heading_item(item: _Item, section: _Section) -> bool:
    """A heading with nothing under it but subheadings' items (a group title), or nothing at all."""
    if not item.heading:
        return False
    text = "\n".join(item.body)
    if clean_block(text) or find_urls(text):
        # A section's own intro is dropped once its subheadings bring items of their own.
        first = item is section.items[0] and item.header == section.heading
        return first and len(section.items) > 1 and not section.whole
    return True


def _item_fields(item: _Item) -> tuple[str, str | None, str, tuple[str, ...]]:
    """An item's title, URL, summary and links."""
    header = item.header if item.heading else _without_marker(item.header)
    body = "\n".join(item.body)
    head_line = clean_inline(header) if not item.heading else header
    title = head_line
    summary = clean_block(body)
    if not item.heading:
        if len(head_line) > _TITLE_MAX:
            title = _SENTENCE_END.split(head_line, maxsplit=1)[0][:_TITLE_MAX]
        if (head_line and head_line != title) or not summary:
            summary = (clean_block(header) + " " + summary).strip()
    if not title and (m := _LINK_TEXT.search(header)):
        title = strip_asterisks(m.group(1)).strip()  # a link named after a file or host: ``[avatar.png](…)``
    if not title:
        title = _SENTENCE_END.split(summary, maxsplit=1)[0][:_TITLE_MAX] or "(untitled)"
    urls = find_urls(header) + find_urls(body)
    links = tuple({link_key(u): u for u in reversed(urls)}.values())[::-1]
    return title, (urls[0] if urls else None), summary, links


def _without_marker(line: str) -> str:
    """The line without its list marker or number.

    >>> _without_marker("**（2）它的工作岗位最多**。"), _without_marker("* [a](u)"), _without_marker("3、[b](u)")
    ('它的工作岗位最多。', '[a](u)', '[b](u)')
    """
    s = strip_asterisks(line).strip()
    if m := _NUMBERED.match(s):
        return s[m.end():].strip()
    if _BULLET.match(s):
        return s[1:].strip()
    if _TABLE_ROW.match(s):
        return " ".join(c.strip() for c in s.strip().strip("|").split("|") if c.strip())
    return s
