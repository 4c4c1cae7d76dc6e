"""Turning a newsletter issue's items and 编辑精选 picks into its :class:`~retrieval.models.Entry` rows.

Each item gets its title (the header, else its embed card's title, its paper's title line or its first words),
its links (header first, then body, in reading order; the first is the entry's URL), its summary and card text.
Picks flag the items they name as features; a pick that names no item becomes a feature entry of its own.
"""

from __future__ import annotations

import re

from retrieval.links import link_key
from retrieval.markdown import card_text, clean_block, clean_inline, find_urls, is_domain, strip_asterisks
from retrieval.models import Entry
from retrieval.parse.segment import FEATURES, Item, Pick
from retrieval.profile import Profile, load_profile

_ARXIV_TITLE_LINE = re.compile(r"^\s*[\[【]\s*(?:\d{4}\.\d{4,5}(?:\s*v\d+)?)?\s*[\]】]?\s*(.+)$")
_CLAUSE_END = re.compile(r"[。！？!?]|[.;；]\s")
_POST_TITLE_END = re.compile(r"\s*[|｜]\s*")
_BULLET_TITLE = 80
# Two characters or fewer ("融合" once "arxiv.org" is gone) is what the MT left of a lost title.
_WEAK_TITLE = 2
_TITLE_NOISE = re.compile(r"[\W_]+")
_TITLE_MATCH = 0.5


def build_entries(issue_id: str, items: list[Item], picks: list[Pick], base: str | None,
                  profile: Profile | None = None) -> tuple[Entry, ...]:
    """The issue's entries in reading order: one per item, then one per pick that names no item."""
    rows: list[tuple[int, str, str, str | None, str, bool, tuple[str, ...], str, str]] = []
    item_urls: list[list[str]] = []
    item_titles: list[str] = []
    bylines: list[str] = []
    items = _without_repeated_bullets(items, base)
    for item in items:
        header_urls = find_urls(item.header, base)
        if item.bullet:
            # Its main link is one no other item has, so the issue lists each link once; it keeps the rest.
            header_urls = [*item.new_links, *(u for u in header_urls if u not in item.new_links)]
        body_text = "\n".join(item.body)
        body_urls = find_urls(body_text, base)
        urls = header_urls + body_urls
        item_urls.append(urls)
        title, byline = _item_title(item, body_text)
        item_titles.append(title)
        bylines.append(byline)
    unmatched = _mark_features(items, item_urls, item_titles, picks)
    for item, urls, title, byline in zip(items, item_urls, item_titles, bylines, strict=True):
        summary = clean_block(item.header if item.bullet else "\n".join(item.body))
        feature = item.feature or item.section == FEATURES
        cards = card_text("\n".join([item.header, *item.body]))
        if not summary and cards:
            # An item that is only a card: its snippet is the summary a reader sees.
            summary = cards.removeprefix(title).strip() or cards
        links = tuple({link_key(u): u for u in reversed(urls)}.values())[::-1]
        rows.append((item.line, item.section, title, urls[0] if urls else None, summary, feature, links, cards,
                     byline))
    for pick in unmatched:
        rows.append((pick.line, FEATURES, pick.title, pick.url, pick.title, True,
                     (pick.url,) if pick.url else (), "", ""))
    rows.sort(key=lambda r: r[0])
    labels = {r.key: (r.label, r.label_en) for r in (profile or load_profile("akira")).sections}
    return tuple(
        Entry(issue_id, pos, section, title, url, summary, feature, links, cards, byline,
              *labels.get(section, ("", "")))
        for pos, (_, section, title, url, summary, feature, links, cards, byline) in enumerate(rows)
    )
def _without_repeated_bullets(items: list[Item], base: str | None) -> list[Item]:
    """Drop bullet items that only point at items the issue has anyway (the highlights repeat its features), or
    that have no text; note on each kept bullet the links that are its own."""
    known = {link_key(u) for item in items if not item.bullet
             for u in find_urls("\n".join([item.header, *item.body]), base)}
    out = []
    for item in items:
        if item.bullet:
            fresh = {link_key(u): u for u in find_urls(item.header, base) if link_key(u) not in known}
            if not fresh or not clean_inline(item.header):
                continue
            item.new_links = tuple(fresh.values())
            known |= set(fresh)
        out.append(item)
    return out


def _item_title(item: Item, body: str) -> tuple[str, str]:
    """The title to show, and the byline that followed it (kept for search)."""
    title = _raw_title(item, body)
    if item.post:
        # Medium's "title | author | publication" once the link text is gone.
        m = _POST_TITLE_END.search(title)
        if m and m.start() > 0:
            return title[: m.start()], title[m.start():]
    return title, ""


def _raw_title(item: Item, body: str) -> str:
    # A leading 的 is what is left when the translation split the title around a lost link.
    title = clean_inline(item.header).removeprefix("的").strip()
    if item.bullet:
        # A bullet is a sentence or two; its first clause names the item.
        title = _CLAUSE_END.split(title, maxsplit=1)[0][:_BULLET_TITLE] or title[:_BULLET_TITLE]
    if len(title) > _WEAK_TITLE and not is_domain(title):
        return title
    # The header was only decoration ("[](url)——[arxiv.org](url)"): use the embed card's title,
    # then the cited paper's title line, then the first words of the body.
    for line in item.body:
        idx = line.find("[## ")
        if idx >= 0:
            card = clean_inline(line[idx + 4:])
            if card:
                return card
    for line in item.body:
        s = strip_asterisks(line).strip()
        if s.startswith(("[", "【")) and not s.startswith(("[](", "[!", "![")):
            m = _ARXIV_TITLE_LINE.match(s)
            t = clean_inline(m.group(1)) if m else ""
            if t:
                return t
    words = clean_block(body)
    return words[:60] if words else "（无标题）"


def _mark_features(
    items: list[Item], item_urls: list[list[str]], item_titles: list[str], picks: list[Pick]
) -> list[Pick]:
    """Flag the items each 编辑精选 bullet points at (by link, else by title; a title match also gets the pick's
    link); return the picks that match no item."""
    keys = [{link_key(u) for u in urls} for urls in item_urls]
    unmatched: list[Pick] = []
    for pick in picks:
        hit = -1
        if pick.url:
            key = link_key(pick.url)
            hit = next((n for n, k in enumerate(keys) if key in k and not items[n].feature), -1)
        if hit < 0:
            hit = _best_title_match(pick.title, item_titles, items)
        if hit >= 0:
            items[hit].feature = True
            if pick.url and link_key(pick.url) not in keys[hit]:
                # Matched by title: the pick's link is the item's too (the translation lost the item's own, or the
                # pick points at another copy of the same post), so a question naming it finds the item.
                item_urls[hit].append(pick.url)
                keys[hit].add(link_key(pick.url))
        else:
            unmatched.append(pick)
    return unmatched


def _best_title_match(title: str, titles: list[str], items: list[Item]) -> int:
    a = _bigrams(title)
    best, best_score = -1, _TITLE_MATCH
    for n, other in enumerate(titles):
        if items[n].feature:
            continue
        b = _bigrams(other)
        if not a or not b:
            continue
        score = 2 * len(a & b) / (len(a) + len(b))
        if score > best_score:
            best, best_score = n, score
    return best


def _bigrams(text: str) -> set[str]:
    t = _TITLE_NOISE.sub("", text.lower())
    return {t[i:i + 2] for i in range(len(t) - 1)}
