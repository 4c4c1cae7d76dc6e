"""Hostile input: random Unicode, huge text, mentions and markdown, admin commands as a non-admin, token leaks.

1. Properties: the pure functions and the console never raise anything but their documented errors, on any
   Unicode (controls, format characters, RTL, emoji, private use; surrogates excluded, as ``str`` from files
   and Discord never holds them) and on a few 1–5 MB inputs, and finish in bounded time.
2. The Discord renderer keeps user and archive text inert: no mention Discord would ping or render, no live
   markdown from the question in titles, every Discord limit kept; every message says ``allowed_mentions``
   ``{"parse": []}``.
3. Every admin command found in the real command tree refuses a member without Manage Server, before option
   conversion, and changes nothing.
4. The bot token appears in no log record, no exception text and nowhere the fake Discord can see.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import random
import re
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from botkit import FastReconnectClient, bot_running, guild_config, live_markdown, mentions_in
from fake_discord import (
    DEFAULT_USER,
    DIGEST_CHANNEL_ID,
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    FakeDiscord,
    point_discord_py_at,
)
from fake_discord.payloads import ADMINISTRATOR, MEMBER_PERMISSIONS
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.commands import COMMANDS, COMMANDS_BY_NAME, Newsbot
from bot.config import Config, load_config, sample_archive_dir
from bot.console import Console, parse_line
from bot.discord_adapter import embeds
from bot.library import Library, search_settings
from bot.results import AskResult, FeaturesResult
from retrieval.archive import load_archive
from retrieval.cache import QueryCache
from retrieval.errors import QueryError
from retrieval.issueref import IssueRef, extract_issue_ref, parse_issue_ref
from retrieval.models import Entry, Hit, Issue, SearchResult
from retrieval.parse import ParseError, parse_markdown
from retrieval.repair import CODEPAGES, RepairResult, detect_mojibake, repair_text
from retrieval.search import SearchEngine

MANAGE_GUILD = 1 << 5
NON_ADMIN = MEMBER_PERMISSIONS & ~(MANAGE_GUILD | ADMINISTRATOR)
ADMIN = MEMBER_PERMISSIONS | MANAGE_GUILD

# "Bounded time" without timed assertions: each test here is a hang guard under pytest-timeout, far above the
# milliseconds (properties) to seconds (1–5 MB inputs) these calls take, so only a blow-up fails it.
pytestmark = pytest.mark.timeout(240)

FAST = settings(max_examples=150, deadline=None, database=None)
MEDIUM = settings(max_examples=100, deadline=None, database=None)

_SECTIONS = ["features", "use_cases", "papers", "articles", "other", "Jobs & <b>"]


# -- strategies --------------------------------------------------------------------------------------------

# Every code point Python allows in a str read from a file or a socket: all categories but surrogates.
ANY_CHAR = st.characters(exclude_categories=["Cs"])

PIECES = (
    # mentions Discord pings or renders (ids of real length, 17-20 digits, and short ones)
    "@everyone", "@here", "<@123456789012345678>", "<@!123456789012345678>", "<@&456789012345678901>",
    "<#789012345678901234>", "</ask:123456789012345678>", "<@123>", "<@&456>", "<#789>",
    # markdown, links, code, spoilers, headings, quotes
    "**bold**", "__u__", "~~s~~", "`code`", "```py\nfence\n```", "[link](https://evil.example)", "||spoiler||",
    "# heading", "## h2", "> quote", ">>> quote", "-# small", "- item", "* bullet", "\\", "\\*x\\*", "***",
    "https://evil.example/a_b_c", "<https://evil.example>", "[##", "](https://x.example)", "<!--", "-->",
    # controls, format characters, bidi, line and paragraph separators
    "\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\r\n", "\r", "\n", "\t", "\x0b", "\x0c", "\x1c", "\u2028",
    "\u2029", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\u202d", "\u2066", "\u061c",
    # scripts, emoji, odd letters, private use, noncharacters, replacement character
    "👩‍💻", "🇨🇳", "👍🏽", "مرحبا بالعالم", "שלום", "Привет", "ภาษาไทย", "ǅ", "ﬁ", "①", "Ⅻ", "ｆｕｌｌ", "＃１８",
    "\ue000", "\U0010fffd", "\uffff", "\ufffd", "\u0301", "e\u0301",
    # the archive's own vocabulary: Chinese, issue references, options, mojibake
    "机器学习", "變壓器", "变压器 模型 论文", "哪一期讲了不用乘法的矩阵乘积？", "ViT 鲁棒性", "CutMix", "第 34 期",
    "#31", "week 13 2021", "2021-W13", "2020 年 9 月", "最新一期", "issue 7", "issue:31", "count:3",
    'issue:"week 13 2021"',
    "æœºå™¨å¦ä¹ ", "cafÃ©", "Ã", "â€™", "> 原文：<https://medium.com/x/akiras-ml-news-week41-2020-0a1b2c3d4e5f>",
    "# 1.机器学习论文", "# 本周特稿/新闻", "【arxiv.org】——[", "2101.01234", "x" * 300, "9" * 40,
)

mixed_text = st.lists(st.one_of(st.sampled_from(PIECES), st.text(ANY_CHAR, max_size=40)), max_size=40).map("".join)
hostile_text = st.one_of(st.text(ANY_CHAR, max_size=3000), mixed_text)
short_hostile = st.one_of(st.text(ANY_CHAR, max_size=200), st.lists(st.sampled_from(PIECES), max_size=6).map(" ".join))

# Clean text of the archive's kind: Chinese, ASCII and full-width punctuation, no Latin-1 letters.
CLEAN_ALPHABET = st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.sampled_from("，。！？：；“”‘’（）《》【】、…—\n"),
)


def _pool() -> str:
    rng = random.Random(0)
    ranges = [(0, 0x80), (0x80, 0x250), (0x370, 0x700), (0x2000, 0x2070), (0x3000, 0x3100), (0x4E00, 0x9FFF),
              (0xE000, 0xE100), (0xFE00, 0xFFFF), (0x1F300, 0x1FAFF), (0x10FF00, 0x110000)]
    chars = {chr(rng.randrange(a, b)) for a, b in ranges for _ in range(400)}
    return "".join(sorted(c for c in chars if not 0xD800 <= ord(c) <= 0xDFFF))


def huge_random(n: int, seed: int = 1) -> str:
    """``n`` characters drawn from every block above: controls, bidi, CJK, private use, emoji."""
    return "".join(random.Random(seed).choices(_pool(), k=n))


def sample_markdown() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(sample_archive_dir().glob("*.md"))]


# -- one archive, one engine, one Newsbot for the whole module ----------------------------------------------

class Service(NamedTuple):
    config: Config
    newsbot: Newsbot
    engine: SearchEngine
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, shared_cache_dir: Path) -> Iterator[Service]:
    # A private loop: hypothesis drives sync tests, and each example runs its coroutine here.
    config = load_config(env={}, storage__cache_dir=str(shared_cache_dir),
                         storage__db_path=str(tmp_path_factory.mktemp("hostile") / "state.sqlite3"))
    archive = load_archive(sample_archive_dir())
    engine = SearchEngine.build(archive, search_settings(config))
    library = Library(config, archive, engine)
    loop = asyncio.new_event_loop()
    cache = QueryCache(config.db_path.with_name("state-cache.sqlite3"), ttl_seconds=config.cache.ttl_seconds,
                       max_entries=config.cache.max_entries)
    loop.run_until_complete(cache.open())
    newsbot = Newsbot(config, library, cache)
    try:
        yield Service(config, newsbot, engine, loop)
    finally:
        loop.run_until_complete(cache.close())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


# == 1. properties ===========================================================================================

def _markdown_mutations() -> st.SearchStrategy[str]:
    """A real sample issue with hostile text spliced in at a few places."""
    texts = sample_markdown()

    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        text = draw(st.sampled_from(texts))
        for _ in range(draw(st.integers(0, 4))):
            at = draw(st.integers(0, len(text)))
            cut = draw(st.integers(0, 200))
            text = text[:at] + draw(short_hostile) + text[at + cut:]
        return text

    return mutate()


_PATHS = st.one_of(st.sampled_from(["", "x.md", "akiras-ml-news-week41-2020-0a1b2c3d4e5f.md", "../第 3 期.md",
                                    "a/b/c.txt"]), st.text(ANY_CHAR, max_size=40))


@FAST
@given(text=st.one_of(hostile_text, _markdown_mutations()), path=_PATHS)
def test_parse_markdown_raises_only_parse_error(text: str, path: str) -> None:
    try:
        issue = parse_markdown(text, path=path)
    except ParseError as err:
        message = str(err)
    else:
        message = ""
    if message:  # refused, with a reason a person can read
        return
    assert isinstance(issue, Issue)
    assert issue.id
    assert issue.title
    assert all(isinstance(e, Entry) and isinstance(e.title, str) and isinstance(e.summary, str)
               for e in issue.entries)
    assert [e.position for e in issue.entries] == sorted({e.position for e in issue.entries})


@FAST
@given(text=hostile_text)
def test_detect_and_repair_never_raise(text: str) -> None:
    codepage = detect_mojibake(text)
    assert codepage is None or codepage in CODEPAGES
    result = repair_text(text)
    assert isinstance(result, RepairResult)
    assert result.codepage == codepage
    if codepage is None:
        assert result.text is text
    assert 0 <= result.uncertain <= result.filled <= result.damaged


@FAST
@given(text=st.text(CLEAN_ALPHABET, max_size=3000))
def test_repair_of_clean_text_is_identity(text: str) -> None:
    assert detect_mojibake(text) is None
    result = repair_text(text)
    assert result.text is text
    assert (result.codepage, result.damaged, result.filled, result.uncertain) == (None, 0, 0, 0)


@FAST
@given(text=hostile_text)
def test_tokens_are_never_empty_or_hold_whitespace(service: Service, text: str) -> None:
    analyzer = service.engine.analyzer
    index = analyzer.index_tokens(text)
    query = analyzer.query_tokens(text)
    for token in [*index, *query]:
        assert isinstance(token, str)
        assert token, f"empty token from {text!r}"
        assert not any(c.isspace() for c in token), f"whitespace in token {token!r}"
    assert query == list(dict.fromkeys(index))


@FAST
@given(text=hostile_text)
def test_issue_refs_never_raise(text: str) -> None:
    ref, rest = extract_issue_ref(text)
    assert ref is None or isinstance(ref, IssueRef)
    assert isinstance(rest, str)
    if ref is None:
        assert rest == text
    whole = parse_issue_ref(text)
    assert whole is None or isinstance(whole, IssueRef)


@MEDIUM
@given(query=hostile_text, k=st.integers(1, 25), data=st.data())
def test_search_always_answers(service: Service, query: str, k: int, data: st.DataObject) -> None:
    engine = service.engine
    issue = data.draw(st.one_of(st.none(), st.sampled_from(engine.archive.issues)))
    result = engine.search(query, k=k, issue=issue)
    assert isinstance(result, SearchResult)
    assert result.hits or result.notice, f"neither hits nor a notice for {query!r}"
    assert len(result.hits) <= k
    assert all(isinstance(h, Hit) and h.snippet is not None for h in result.hits)
    for hit in result.hits:
        assert all(0 <= a < b <= len(hit.snippet) for a, b in hit.highlights)


_OPTION_SUFFIX = st.sampled_from(["", " issue:31", " count:3", ' issue:"week 13 2021"', " count:x", " count:",
                                  " issue:'", ' issue:"', " page:2", " ISSUE:34 COUNT:2", " issue:a issue:b"])
_console_line = st.one_of(
    hostile_text,
    st.builds(lambda slash, name, body, opts: f"{slash}{name} {body}{opts}",
              st.sampled_from(["/", "", " /", "//"]),
              st.sampled_from([c.name for c in COMMANDS if not c.admin] + ["ASK", "nope", ""]),
              short_hostile, _OPTION_SUFFIX),
)


@FAST
@given(line=_console_line)
def test_parse_line_raises_only_query_error(line: str) -> None:
    try:
        inv = parse_line(line)
    except QueryError as err:
        message = str(err)
    else:
        message = ""
    if message:  # refused, with a reason a person can read
        return
    spec = COMMANDS_BY_NAME[inv.command]
    assert set(inv.args) <= {p.name for p in spec.params}
    assert all(isinstance(v, str) for v in inv.args.values())


def _is_admin_line(line: str) -> bool:
    name = line.strip().lstrip("/").partition(" ")[0].lower()
    spec = COMMANDS_BY_NAME.get(name)
    return spec is not None and spec.admin


def _one_json_line(out: str) -> dict[str, Any]:
    # One object per *input line*: exactly one "\n", at the end. (Not str.splitlines(): JSON leaves U+2028,
    # U+0085 and friends unescaped, and they are not line ends for a JSON-lines reader.)
    assert out.endswith("\n"), f"no line end: {out[:300]!r}"
    assert out.count("\n") == 1, f"not exactly one line: {out[:300]!r}"
    obj = json.loads(out)
    assert isinstance(obj, dict)
    assert isinstance(obj["command"], str)
    assert "Traceback" not in out
    return obj


@MEDIUM
@given(line=_console_line)
def test_console_json_prints_exactly_one_line(service: Service, line: str) -> None:
    assume(not _is_admin_line(line))  # /reindex rebuilds the index: covered once below, not 100 times
    out = io.StringIO()
    console = Console(service.newsbot, out, json_mode=True, color=False)
    service.run(console.handle(line))
    obj = _one_json_line(out.getvalue())
    if "error" in obj:
        assert isinstance(obj["error"], str)
        assert obj["error"]
        # Only NewsbotError texts: "internal error" means something raised past the documented hierarchy.
        assert "internal error" not in obj["error"], f"{line!r}: {obj['error']}"


def test_console_json_reindex_line(service: Service) -> None:
    out = io.StringIO()
    service.run(Console(service.newsbot, out, json_mode=True, color=False).handle("/reindex \x00 @everyone"))
    obj = _one_json_line(out.getvalue())
    assert obj["command"] == "reindex"
    assert "error" in obj  # reindex takes no text


# -- huge inputs, once each --------------------------------------------------------------------------------

class Huge(NamedTuple):
    name: str
    make: Callable[[], str]


HUGE_INPUTS = (
    Huge("random-1MB", lambda: huge_random(1_000_000)),
    Huge("ascii-5MB", lambda: "a" * 5_000_000),
    Huge("controls-1MB", lambda: "\x00\x1b[0m\u202e\u200b\ufeff\r\n\x85\u2028" * 100_000),
    Huge("markdown-2MB", lambda: ("\n".join(sample_markdown()) + "\n") * (2_000_000 // 34_000)),
    Huge("issue-refs-1MB", lambda: "第 34 期 week 13 2021 #18 2020 年 9 月 " * 30_000),
    Huge("mojibake-lossless-1MB", lambda: ("机器学习很有趣。" * 42_000).encode().decode("latin-1")),
)


@pytest.fixture(scope="module")
def huge() -> dict[str, str]:
    return {h.name: h.make() for h in HUGE_INPUTS}


def test_huge_parse_markdown(huge: dict[str, str]) -> None:
    for name in ("random-1MB", "controls-1MB", "markdown-2MB"):
        try:
            issue = parse_markdown(huge[name], path=f"{name}.md")
        except ParseError:
            continue
        assert isinstance(issue, Issue), name
        assert issue.entries, name


def test_huge_repair(huge: dict[str, str]) -> None:
    for name in ("random-1MB", "controls-1MB", "mojibake-lossless-1MB"):
        text = huge[name]
        codepage = detect_mojibake(text)
        result = repair_text(text)
        if codepage is None:
            assert result.text is text, name
        else:
            assert name == "mojibake-lossless-1MB"
            assert (result.codepage, result.text) == ("latin-1", "机器学习很有趣。" * 42_000)


def test_lossy_repair_is_bounded() -> None:
    # The lossy path runs the language model around every damaged character: ~10k characters, ~300 damaged.
    clean = "\n".join(sample_markdown())[:20_000]
    damaged = clean.encode("utf-8").decode("cp1254", errors="ignore")
    result = repair_text(damaged)
    assert result.codepage == "cp1254"
    assert result.damaged > 0


def test_huge_tokens_and_issue_refs(service: Service, huge: dict[str, str]) -> None:
    analyzer = service.engine.analyzer
    tokens = analyzer.index_tokens(huge["random-1MB"])
    assert tokens
    assert all(t and not any(c.isspace() for c in t) for t in tokens)
    assert analyzer.query_tokens(huge["controls-1MB"]) == ["0m"]  # from "\x1b[0m"
    ref, rest = extract_issue_ref(huge["issue-refs-1MB"])
    assert ref == IssueRef(number=34)
    assert rest.startswith("week 13 2021")
    assert parse_issue_ref(huge["issue-refs-1MB"]) is None


def test_huge_search_parse_line_and_console(service: Service, huge: dict[str, str]) -> None:
    for name in ("ascii-5MB", "random-1MB", "issue-refs-1MB"):
        text = huge[name]
        result = service.engine.search(text)
        assert result.hits or result.notice
        with contextlib.suppress(QueryError):
            parse_line("/ask " + text + " count:3")
        out = io.StringIO()
        service.run(Console(service.newsbot, out, json_mode=True, color=False).handle("/ask " + text))
        obj = _one_json_line(out.getvalue())
        assert "internal error" not in obj.get("error", "")


# == 2. inert mentions, markdown and links ===================================================================

def embed_texts(embed: dict[str, Any]) -> list[str]:
    parts = [embed.get("title") or "", embed.get("description") or "", (embed.get("footer") or {}).get("text") or "",
             (embed.get("author") or {}).get("name") or ""]
    for f in embed.get("fields") or []:
        parts += [f.get("name") or "", f.get("value") or ""]
    return parts


def check_message_limits(message: list[dict[str, Any]]) -> None:
    """One message's embeds, as sent, within every limit embeds.py names."""
    assert len(message) <= embeds.EMBEDS_MAX
    total = 0
    for e in message:
        assert len(e.get("title") or "") <= embeds.TITLE_MAX
        assert len(e.get("description") or "") <= embeds.DESCRIPTION_MAX
        assert len((e.get("footer") or {}).get("text") or "") <= embeds.FOOTER_MAX
        fields = e.get("fields") or []
        assert len(fields) <= embeds.FIELDS_MAX
        for f in fields:
            assert len(f["name"]) <= embeds.FIELD_NAME_MAX
            assert len(f["value"]) <= embeds.FIELD_VALUE_MAX
        total += sum(len(p) for p in embed_texts(e))
    assert total <= embeds.TOTAL_MAX


def check_inert(message: list[dict[str, Any]]) -> None:
    for e in message:
        for part in embed_texts(e):
            assert not mentions_in(part), f"live mention {mentions_in(part)} in {part[:300]!r}"


def check_title_escapes_query(title: str) -> None:
    assert not live_markdown(title), f"live markdown {live_markdown(title)} in title {title!r}"


HOSTILE_QUERIES = (
    "@everyone", "@here", "<@123>", "<@123456789012345678>", "<@!123456789012345678>", "<@&456>",
    "<@&456789012345678901>", "<#789>", "<#789012345678901234>",
    "**bold** __u__ ~~s~~ `code` ```fence```", "[link](https://evil.example)", "||spoiler||", "# heading",
    "> quote", "\\*x\\*", "\\**x**", "-# small", "</ask:123456789012345678>",
    "@everyone **CutMix** [x](https://evil.example) <#789> ||变压器||",
)
def _query_params() -> list[Any]:
    return [pytest.param(q, id=q) for q in HOSTILE_QUERIES]


@pytest.mark.parametrize("query", _query_params())
@pytest.mark.parametrize("topic", ["", " CutMix 变压器 论文"], ids=["alone", "with-hits"])
def test_ask_pages_of_a_real_answer_are_inert(service: Service, query: str, topic: str) -> None:
    result = service.run(service.newsbot.ask(query + topic, count=10))
    assert isinstance(result, AskResult)
    if topic:
        assert result.hits
    pages = [e.to_dict() for e in embeds.ask_pages(result)]
    assert pages
    for page in pages:
        check_message_limits([page])  # each page is its own message
        check_title_escapes_query(page["title"])
        check_inert([page])


def _hostile_issue(draw: st.DrawFn, n: int, *, numbered: bool = False) -> Issue:
    title = draw(short_hostile) or "t"
    entries = tuple(
        Entry(f"hostile-{n}", pos, draw(st.sampled_from(_SECTIONS)), draw(hostile_text),
              draw(st.one_of(st.none(), st.sampled_from(
                  ["https://arxiv.org/abs/2106.10860", "https://evil.example/a_(b)_c?x=*y*", "javascript:alert(1)",
                   "https://e.example/" + "a" * 3000, "https://e.example/<@123456789012345678>", "ftp://x"]),
                  st.text(ANY_CHAR, max_size=30))),
              draw(hostile_text), feature=draw(st.booleans()))
        for pos in range(draw(st.integers(1, 3)))
    )
    return Issue(f"hostile-{n}", title, draw(st.one_of(st.none(), st.just("https://medium.com/x/y"),
                                                        st.text(ANY_CHAR, max_size=30))), "issue", entries,
                 number=draw(st.integers(1, 999) if numbered else st.one_of(st.none(), st.integers(1, 999))),
                 repaired=draw(st.booleans()))


@st.composite
def synthetic_ask(draw: st.DrawFn) -> AskResult:
    issues = [_hostile_issue(draw, n) for n in range(draw(st.integers(1, 3)))]
    hits = []
    for _ in range(draw(st.integers(0, 25))):
        issue = draw(st.sampled_from(issues))
        entry = draw(st.sampled_from(issue.entries))
        snippet = draw(hostile_text)
        spans: list[tuple[int, int]] = []
        at = 0
        for _ in range(draw(st.integers(0, 4))):
            if at >= len(snippet):
                break
            a = draw(st.integers(at, len(snippet) - 1))
            b = draw(st.integers(a + 1, len(snippet)))
            spans.append((a, b))
            at = b
        also = tuple(draw(st.lists(st.sampled_from(issues), max_size=8)))
        hits.append(Hit(entry, issue, draw(st.floats(0, 100)), snippet, tuple(spans), also))
    return AskResult(draw(hostile_text), tuple(hits), draw(st.one_of(st.none(), short_hostile)), draw(st.booleans()))


@pytest.mark.parametrize("text", [
    "@everyone @here <@123456789012345678> <@!123456789012345678> <@&456789012345678901>",
    pytest.param("see <#789012345678901234>", id="channel"),
    pytest.param("run </ask:123456789012345678>", id="slash-command"),
])
def test_archive_text_in_answers_renders_no_mention(service: Service, text: str) -> None:
    # Archive text (entry title, snippet, issue label) lands in descriptions, where Discord renders mentions.
    issue = Issue("hostile", text, None, "issue", (Entry("hostile", 0, "papers", text, None, text),))
    hit = Hit(issue.entries[0], issue, 1.0, text, ((0, 3),), (issue,))
    pages = [e.to_dict() for e in embeds.ask_pages(AskResult("ViT", (hit,), text, False))]
    check_message_limits(pages)
    check_inert(pages)


@MEDIUM
@given(result=synthetic_ask())
def test_ask_pages_of_hostile_results_keep_limits_and_block_pings(result: AskResult) -> None:
    # For any hostile result: limits, escaped titles, nothing that pings.
    pages = [e.to_dict() for e in embeds.ask_pages(result)]
    assert pages
    assert len(pages) == max(1, -(-len(result.hits) // embeds.HITS_PER_PAGE))
    for page in pages:
        check_message_limits([page])
        check_title_escapes_query(page["title"])
        for part in embed_texts(page):
            pings = [m for m in mentions_in(part) if m.startswith(("@", "<@"))]
            assert not pings, f"{pings} in {part[:200]!r}"


@MEDIUM
@given(data=st.data())
def test_features_embeds_of_hostile_issues_keep_limits(data: st.DataObject) -> None:
    # Numbered issues: their label is "#N". An unnumbered issue's label is its title (see the next test).
    # Descriptions and field values only: embed titles render neither mentions nor links.
    issue = _hostile_issue(data.draw, 0, numbered=True)
    result = FeaturesResult(issue, issue.entries, data.draw(st.integers(0, 500)))
    message = [e.to_dict() for e in embeds.features_embeds(result, footer=data.draw(short_hostile))]
    check_message_limits(message)
    for e in message:
        for part in [e.get("description") or "", *(f["value"] for f in e.get("fields") or [])]:
            pings = [m for m in mentions_in(part) if m.startswith(("@", "<@"))]
            assert not pings, f"{pings} in {part[:200]!r}"


def test_unnumbered_issue_label_cannot_break_out_of_the_code_span() -> None:
    title = "Notes` @everyone <@123456789012345678> **bold** `"
    entries = tuple(Entry("notes", i, "other", f"item {i}", None, "text") for i in range(12))
    issue = Issue("notes", title, None, "document", entries)
    assert issue.label == title
    message = [e.to_dict() for e in embeds.features_embeds(FeaturesResult(issue, entries[:9], 3))]
    check_message_limits(message)
    description = message[0]["description"]
    # What Discord renders as text: escaped characters are literal, code spans are inert.
    rendered = re.sub(r"`[^`]*`", "", re.sub(r"\\[^\w\s]", "", description))
    assert not mentions_in(rendered), description


# -- through the fake Discord ------------------------------------------------------------------------------

@pytest.fixture
async def client(fake: FakeDiscord, sample_config: Config) -> AsyncIterator[FastReconnectClient]:
    async with bot_running(fake, guild_config(sample_config)) as ready:
        yield ready


def _sent_messages(fake: FakeDiscord) -> list[tuple[str, dict[str, Any]]]:
    """Every message body the bot sent: interaction callbacks that carry a message, webhook posts and edits,
    and channel posts."""
    sent: list[tuple[str, dict[str, Any]]] = []
    for handle in fake.interactions.values():
        for cb in handle.callbacks:
            if cb.type in (4, 7):
                sent.append((f"callback {cb.type} of {handle.id}", cb.data))
        for call in handle.calls:
            if call.kind in ("followup", "edit"):
                sent.append((f"{call.kind} of {handle.id}", call.data))
    for r in fake.requests:
        if r.method in ("POST", "PATCH") and re.fullmatch(r"/channels/\d+/messages(?:/\d+)?", r.path):
            sent.append((f"{r.method} {r.path}", r.json))
    return sent


async def test_hostile_questions_through_discord_ping_no_one(fake: FakeDiscord, client: FastReconnectClient) -> None:
    for query in HOSTILE_QUERIES:
        handle = await fake.interact("ask", {"question": query + " CutMix 变压器 论文", "count": 10})
        await handle.response()
        [followup] = await handle.followups(1)
        assert followup.status == 200, followup.data
        message = followup.data["embeds"]
        check_message_limits(message)
        check_title_escapes_query(message[0]["title"])
        for part in embed_texts(message[0]):
            assert not [m for m in mentions_in(part) if m.startswith(("@", "<@"))], part
    # Turn a page: the edit goes through the same checks.
    last = fake.channel_messages[GENERAL_CHANNEL_ID][-1]
    buttons = last["components"][0]["components"]
    click = await fake.interact(type=3, custom_id=buttons[2]["custom_id"], message=int(last["id"]))
    update = await click.response()
    assert (update.type, update.status) == (7, 200)
    # Hostile issue names reach error messages (content, not embeds).
    for name, options in [("issue", {"issue": "@everyone <@123456789012345678> **x**"}),
                          ("features", {"issue": "@here <@&456789012345678901>"}),
                          ("ask", {"question": "@everyone", "issue": "@everyone 第 99 期"})]:
        handle = await fake.interact(name, options)
        callback = await handle.response()
        if callback.type == 5:
            [reply] = await handle.followups(1)
            content = reply.data.get("content") or ""
        else:
            content = callback.data.get("content") or ""
        assert content
        assert not [m for m in mentions_in(content) if m.startswith(("@", "<@"))], content
    sent = _sent_messages(fake)
    assert len(sent) >= len(HOSTILE_QUERIES) + 4
    for where, body in sent:
        assert body.get("allowed_mentions") == {"parse": []}, f"{where}: {body.get('allowed_mentions')}"


# == 3. admin commands as a non-admin ========================================================================

def _admin_commands(client: FastReconnectClient) -> list[Any]:
    from discord import app_commands

    admin_names = {c.name for c in COMMANDS if c.admin}

    def is_admin(cmd: app_commands.Command[Any, ..., Any]) -> bool:
        root = cmd.root_parent or cmd
        perms = root.default_permissions
        return (root.name == "newsbot" or cmd.name in admin_names
                or (perms is not None and (perms.manage_guild or perms.administrator)))

    seen: dict[str, Any] = {}
    for guild in (None, client.get_guild(GUILD_ID)):
        for cmd in client.tree.walk_commands(guild=guild):
            if isinstance(cmd, app_commands.Command) and is_admin(cmd):
                seen.setdefault(cmd.qualified_name, cmd)
    return [seen[k] for k in sorted(seen)]


def _synced_node(fake: FakeDiscord, qualified: str) -> dict[str, Any]:
    root, *path = qualified.split()
    node = next(c for c in fake.commands[GUILD_ID] if c["name"] == root)
    for part in path:
        node = next(o for o in node.get("options") or [] if o["name"] == part and o["type"] in (1, 2))
    return node


SNOWFLAKE_OPTIONS = {6: "user", 7: "channel", 8: "role", 9: "mentionable", 11: "attachment"}


def _plausible(option: dict[str, Any]) -> object:
    """A value for an option as a person would pick it; snowflake options get an id without ``resolved``
    data (the fake sends none), which discord.py can only convert after the checks have run."""
    if option.get("choices"):
        return option["choices"][0]["value"]
    kind = option["type"]
    if kind == 3:
        return "x" * max(1, int(option.get("min_length", 1)))
    if kind == 4:
        return max(1, int(option.get("min_value", 1)))
    if kind == 10:
        return float(max(1, option.get("min_value", 1)))
    if kind == 5:
        return True
    ids = {6: DEFAULT_USER.id, 7: DIGEST_CHANNEL_ID, 8: GUILD_ID, 9: DEFAULT_USER.id, 11: 1}
    return str(ids[kind])


async def _state_snapshot(client: FastReconnectClient, fake: FakeDiscord) -> dict[str, Any]:
    db = client.store.db
    async with db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") as cur:
        tables = [str(r[0]) for r in await cur.fetchall()]
    rows = {}
    for table in tables:
        async with db.execute(f'SELECT * FROM "{table}" ORDER BY 1') as cur:
            rows[table] = [tuple(r) for r in await cur.fetchall()]
    return {"rows": rows, "engine": id(client.newsbot.engine), "archive": id(client.newsbot.archive),
            "messages": {k: len(v) for k, v in fake.channel_messages.items()}}


async def test_every_admin_command_refuses_a_non_admin(fake: FakeDiscord, client: FastReconnectClient) -> None:
    group = next(c for c in fake.commands[GUILD_ID] if c["name"] == "newsbot")
    # discord.py sends the value as an int and the fake echoes it as sent; Discord itself answers with a string.
    assert str(group["default_member_permissions"]) == str(MANAGE_GUILD)
    assert client.tree.get_command("newsbot").default_permissions.value == MANAGE_GUILD
    commands = _admin_commands(client)
    names = [c.qualified_name for c in commands]
    shown = (await client.newsbot.help()).commands  # one archive: no /newsbot archive-default
    assert {f"newsbot {c.name}" for c in shown if c.admin} <= set(names)
    assert {"newsbot reindex", "newsbot stats", "newsbot digest-on", "newsbot digest-off"} <= set(names)

    # Give the guild some state first, as an admin, so "unchanged" means something.
    setup = await fake.interact("newsbot digest-policy", {"policy": "latest"}, permissions=ADMIN)
    assert (await setup.response()).type == 5
    [done] = await setup.followups(1)
    assert done.data["embeds"][0]["title"] == "Digest policy set"
    before = await _state_snapshot(client, fake)
    assert before["rows"]["digest_settings"]

    notes: list[str] = []
    refused = []
    for cmd in commands:
        node = _synced_node(fake, cmd.qualified_name)
        options = [o for o in node.get("options") or [] if o["type"] not in (1, 2)]
        values = {o["name"]: _plausible(o) for o in options}
        notes += [f"/{cmd.qualified_name} {o['name']}: {SNOWFLAKE_OPTIONS[o['type']]} sent without resolved data"
                  for o in options if o["type"] in SNOWFLAKE_OPTIONS]
        handle = await fake.interact(cmd.qualified_name, values, permissions=NON_ADMIN)
        callback = await handle.response()
        # The refusal mentions admins; a conversion error ("I couldn't understand …") would mean the option
        # was converted before the permission check.
        assert callback.type == 4, f"/{cmd.qualified_name}: callback type {callback.type}"
        assert callback.data["flags"] & 64, f"/{cmd.qualified_name} refusal is not ephemeral"
        assert "admin" in callback.data["content"].lower(), f"/{cmd.qualified_name}: {callback.data['content']}"
        assert callback.data["allowed_mentions"] == {"parse": []}
        refused.append(handle)
    # Shown with -s (or on failure): what was covered, and the options the fake could only half-build.
    print("admin commands refused:", ", ".join(f"/{n}" for n in names))
    print("option notes:", "; ".join(notes) or "none")

    await asyncio.sleep(0.3)  # anything a handler started would have reached the fake by now
    assert all(h.calls == [] and len(h.callbacks) == 1 for h in refused)
    assert await _state_snapshot(client, fake) == before


# == 4. token hygiene ========================================================================================

KNOWN_TOKEN = "MTE4MDAwMDAwMDAwMDAwMDAwMQ.Gh0stX.hostile-test-token-never-log-me-0123456789"


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _record_texts(record: logging.LogRecord) -> list[str]:
    texts = [record.getMessage(), repr(record.args), record.name, str(record.msg)]
    if record.exc_info and record.exc_info[1] is not None:
        texts += ["".join(traceback.format_exception(*record.exc_info)), repr(record.exc_info[1])]
    if record.exc_text:
        texts.append(record.exc_text)
    if record.stack_info:
        texts.append(record.stack_info)
    return texts


async def test_token_never_reaches_logs_or_errors(sample_config: Config, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("discord", "discord.client", "discord.gateway", "discord.http", "discord.state",
                 "discord.webhook.async_", "discord.app_commands.tree", "discord.ext.commands", "bot", "retrieval",
                 "asyncio", "aiohttp", "aiosqlite"):
        caplog.set_level(logging.DEBUG, logger=name)
    # Loggers that do not propagate would bypass caplog: listen on them too.
    extra = _Everything()
    quiet = [lg for lg in logging.Logger.manager.loggerDict.values()
             if isinstance(lg, logging.Logger) and not lg.propagate]
    for lg in quiet:
        lg.addHandler(extra)
    errors: list[str] = []
    try:
        async with FakeDiscord(token=KNOWN_TOKEN) as fake:
            with point_discord_py_at(fake):
                try:
                    async with bot_running(fake, guild_config(sample_config)):
                        ok = await fake.interact("ask", {"question": "CutMix"})
                        await ok.response()
                        await ok.followups(1)
                        unknown = await fake.interact("issue", {"issue": "第 99 期"})
                        assert "Did you mean" in (await unknown.response()).data["content"]
                        # Our fault: the followup is refused, the handler raises, the tree logs a traceback.
                        fake.fail_next("POST", r"/webhooks/\d+/[^/]+", 403,
                                       json={"message": "Missing Access", "code": 50001})
                        broken = await fake.interact("ask", {"question": "变压器"})
                        await broken.response()
                        # The public "thinking…" placeholder is taken back; the apology goes to the asker alone.
                        *_, apology = await broken.followups(2)
                        assert [c.kind for c in broken.calls] == ["delete", "followup"]
                        assert "something went wrong" in apology.data["content"]
                        refused = await fake.interact("newsbot reindex", permissions=NON_ADMIN)
                        assert "admin" in (await refused.response()).data["content"].lower()
                        reindex = await fake.interact("newsbot reindex", permissions=ADMIN, user=fake.owner)
                        await reindex.response()
                        [reindexed] = await reindex.followups(1, timeout=15.0)
                        assert reindexed.data["embeds"][0]["title"] == "Reindexed"
                except Exception as err:  # report the text of whatever failed, then fail
                    errors.append("".join(traceback.format_exception(err)))
                    raise
            assert fake.token_leaks() == []
    finally:
        for lg in quiet:
            lg.removeHandler(extra)
    records = [*caplog.records, *extra.records]
    assert any(r.name.startswith("discord") for r in records)  # discord.py's logs were captured
    assert any("command /ask failed" in r.getMessage() and r.exc_info for r in records)  # and the error path
    leaks = [(r.name, r.levelname) for r in records for text in _record_texts(r) if KNOWN_TOKEN in text]
    assert leaks == []
    assert KNOWN_TOKEN not in caplog.text
    assert not any(KNOWN_TOKEN in e for e in errors)
