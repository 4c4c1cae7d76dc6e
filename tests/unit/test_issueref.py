"""Issue references as readers type them: :mod:`retrieval.issueref`."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval.issueref import IssueRef, extract_issue_ref, matches, parse_issue_ref
from retrieval.models import Issue

NUMBER_34 = IssueRef(number=34)
W13 = IssueRef(year=2021, week=13)
SEP_2020 = IssueRef(year=2020, month=9)


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("34", NUMBER_34),
        (" 34 ", NUMBER_34),
        ("#34", NUMBER_34),
        ("# 34", NUMBER_34),
        ("第 34 期", NUMBER_34),
        ("第34期", NUMBER_34),
        ("第３４期", NUMBER_34),  # full-width digits from a Chinese input method
        ("issue 34", NUMBER_34),
        ("Issue #34", NUMBER_34),
        ("ISSUE 34", NUMBER_34),
        ("2021-W13", W13),
        ("2021W13", W13),
        ("2021 年第 13 周", W13),
        ("2021年第13周", W13),
        ("week 13 2021", W13),
        ("week 13, 2021", W13),
        ("Week 13 of 2021", W13),
        ("W13 2021", W13),
        ("第 13 周，2021", W13),
        ("第 13 周", IssueRef(week=13)),
        ("2020 年 9 月", SEP_2020),
        ("2020年9月", SEP_2020),
        ("2020-09", SEP_2020),
        ("September 2020", SEP_2020),
        ("sep 2020", SEP_2020),
        ("Sept. 2020", SEP_2020),
        ("最新一期", IssueRef(latest=True)),
        ("最新", IssueRef(latest=True)),
        ("latest", IssueRef(latest=True)),
        ("the latest issue", IssueRef(latest=True)),
        ("akiras-machine-learning-news-issue-34-0a1b2c3d4e5f",
         IssueRef(number=34, slug="akiras-machine-learning-news-issue-34-0a1b2c3d4e5f")),
        ("akiras-ml-news-september-2020-0a1b2c3d4e5f",
         IssueRef(year=2020, month=9, slug="akiras-ml-news-september-2020-0a1b2c3d4e5f")),
        ("week-13-2021", W13),
    ],
)
def test_parse_issue_ref(text: str, ref: IssueRef) -> None:
    assert parse_issue_ref(text) == ref


@pytest.mark.parametrize(
    "text",
    ["", "  ", "ViT", "ViT 鲁棒性", "0", "#0", "1234", "2021", "2021 年", "2020 年 13 月", "第 34 期 ViT",
     "GPT-3", "2101.01234", "week 60 2021", "16x16"],
)
def test_parse_issue_ref_rejects(text: str) -> None:
    assert parse_issue_ref(text) is None


@pytest.mark.parametrize(
    ("query", "ref", "rest"),
    [
        ("第 34 期 讲了什么 ViT", NUMBER_34, "讲了什么 ViT"),
        ("第34期讲了什么", NUMBER_34, "讲了什么"),
        ("#18 里有哪些论文", IssueRef(number=18), "有哪些论文"),
        ("what did issue 34 say about ViT?", NUMBER_34, "what did say about ViT?"),
        ("papers in 2021-W13", W13, "papers"),
        ("2021 年第 13 周的论文", W13, "论文"),
        ("关于2021年第13周的变压器", W13, "关于 变压器"),
        ("week 13, 2021: transformers", W13, "transformers"),
        ("2020 年 9 月的 GAN 论文", SEP_2020, "GAN 论文"),
        ("GAN papers from September 2020", SEP_2020, "GAN papers"),
        ("最新一期有什么", IssueRef(latest=True), "有什么"),
        ("what is in the latest issue", IssueRef(latest=True), "what is"),
        ("akiras-ml-news-week41-2020-0a1b2c3d4e5f 讲了什么",
         IssueRef(year=2020, week=41, slug="akiras-ml-news-week41-2020-0a1b2c3d4e5f"), "讲了什么"),
    ],
)
def test_extract_issue_ref(query: str, ref: IssueRef, rest: str) -> None:
    assert extract_issue_ref(query) == (ref, rest)


@pytest.mark.parametrize(
    "query",
    [
        "GPT-3 的论文",
        "ResNet-50 的精度",
        "2021 年的论文",
        "16x16 的补丁",
        "2101.01234 是什么",
        "arXiv 2101.04321v2",
        "34 层的网络",
        "top 5 papers",
        "latest papers on ViT",
        "T5 和 mT5",
        "C#18 是什么",
        "2020-09-13 的新闻",
        "batch size 2021",
        "",
    ],
)
def test_extract_issue_ref_does_not_misfire(query: str) -> None:
    assert extract_issue_ref(query) == (None, query)


def _issue(**kw: object) -> Issue:
    base: dict[str, object] = {"id": "akiras-ml-news-week41-2020-0a1b2c3d4e5f", "title": "T", "source_url": None,
                               "kind": "issue", "entries": ()}
    base.update(kw)
    return Issue(**base)  # type: ignore[arg-type]


def test_matches_numbers_weeks_and_slugs() -> None:
    issue34 = _issue(id="akiras-machine-learning-news-issue-34-0a1b2c3d4e5f", number=34,
                     date=dt.date(2021, 10, 17), date_estimated=True)
    week41 = _issue(year=2020, week=41, date=dt.date(2020, 10, 4))
    assert matches(NUMBER_34, issue34)
    assert not matches(NUMBER_34, week41)
    assert matches(IssueRef(year=2020, week=41), week41)
    assert matches(IssueRef(week=41), week41)
    assert not matches(IssueRef(year=2021, week=41), week41)
    assert matches(IssueRef(slug="akiras-ml-news-week41-2020-0a1b2c3d4e5f"), week41)
    assert matches(IssueRef(slug="akiras-ml-news-week41-2020"), week41)  # without the hash
    assert not matches(IssueRef(slug="akiras-ml-news-week4"), week41)  # not a prefix at a word break
    assert not matches(IssueRef(latest=True), issue34)  # needs the whole archive
    assert not matches(IssueRef(), week41)


def test_matches_months_digest_and_weeks_that_start_in_it() -> None:
    digest = _issue(id="akiras-ml-news-september-2020-0a1b2c3d4e5f", year=2020, month=9, date=dt.date(2020, 9, 1))
    week38 = _issue(year=2020, week=38, date=dt.date(2020, 9, 13))
    week41 = _issue(year=2020, week=41, date=dt.date(2020, 10, 4))
    estimated = _issue(number=29, date=dt.date(2020, 9, 12), date_estimated=True)
    assert matches(SEP_2020, digest)
    assert matches(SEP_2020, week38)
    assert not matches(SEP_2020, week41)
    assert not matches(SEP_2020, estimated)  # an estimate is not good enough to name a month
    assert not matches(IssueRef(year=2021, month=9), digest)


def test_matches_ignores_documents_except_by_slug() -> None:
    doc = _issue(id="some-blog-post", kind="document", number=34)
    assert not matches(NUMBER_34, doc)
    assert matches(IssueRef(slug="some-blog-post"), doc)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_never_raises(text: str) -> None:
    ref = parse_issue_ref(text)
    found, rest = extract_issue_ref(text)
    assert len(rest) <= len(text)
    issue = _issue(number=34, year=2021, week=13, month=None, date=dt.date(2021, 3, 28))
    for r in (ref, found):
        if r is not None:
            matches(r, issue)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["第", "期", "周", "年", "月", " ", "#", "W", "-", "2021", "34", "13", "9",
                                 "issue", "week", "sep", "最新一期", "latest", "，", "ViT", "."]),
                max_size=12).map("".join))
def test_never_raises_on_reference_shaped_text(text: str) -> None:
    ref = parse_issue_ref(text)
    found, rest = extract_issue_ref(text)
    if found is None:
        assert rest == text
    if ref is not None:
        assert ref.number is None or ref.number > 0
        assert ref.week is None or 1 <= ref.week <= 53
        assert ref.month is None or 1 <= ref.month <= 12


JAN_3 = IssueRef(date=dt.date(2024, 1, 3))


@pytest.mark.parametrize(
    ("query", "ref", "rest"),
    [
        ("TWiR 528 async closures", IssueRef(number=528), "async closures"),
        ("what did twir #528 say about const generics", IssueRef(number=528), "what did say about const generics"),
        ("This Week in Rust 528: async closures", IssueRef(number=528), "async closures"),
        ("this week in rust 7", IssueRef(number=7), ""),
        ("周刊 350 的无人卡车", IssueRef(number=350), "无人卡车"),
        ("周刊350期讲了什么", IssueRef(number=350), "讲了什么"),
        ("科技爱好者周刊第 350 期 煤矿", IssueRef(number=350), "科技爱好者 煤矿"),
        ("第 350 期的无人卡车", IssueRef(number=350), "无人卡车"),
        ("crates in the week of 2024-01-03", JAN_3, "crates"),
        ("the 2024-01-03 issue on borrowck", JAN_3, "the on borrowck"),
        ("week of 2024/1/3: cargo", JAN_3, "cargo"),
        ("TWiR January 3 2024 RPITIT PR", JAN_3, "RPITIT PR"),
        ("TWiR Jan. 3rd, 2024 RPITIT", JAN_3, "RPITIT"),
        ("This Week in Rust of 3 January 2024: cargo", JAN_3, "cargo"),
        ("TWiR of 2024-01-03, EarlyBinder", JAN_3, "EarlyBinder"),
        ("TWiR 2024-01-03 constify", JAN_3, "constify"),
        ("2024 年 1 月 3 日那期的 cargo", JAN_3, "cargo"),
        ("TWiR April 2017: visible parent map", IssueRef(year=2017, month=4), "visible parent map"),
        ("2022 年 5 月那期 rust-analyzer changelog", IssueRef(year=2022, month=5), "rust-analyzer changelog"),
        ("TWiR 2022-05 rust-analyzer", IssueRef(year=2022, month=5), "rust-analyzer"),
        ("TWiR 2022-05-04 rust-analyzer", IssueRef(date=dt.date(2022, 5, 4)), "rust-analyzer"),  # the longer form
    ],
)
def test_extract_default_templates(query: str, ref: IssueRef, rest: str) -> None:
    assert extract_issue_ref(query) == (ref, rest)


@pytest.mark.parametrize(
    "query",
    ["TWiR 5283 async", "XTWiR 528", "TWiR 528.5", "the week of 2024-02-30", "周刊 12-3", "TWiR is great",
     "the week of 2024-13-01 issue", "2024-01-03 的新闻", "TWiR February 30 2024", "January 3 2024 release"],
)
def test_default_templates_do_not_misfire(query: str) -> None:
    assert extract_issue_ref(query) == (None, query)


def test_templates_are_data() -> None:
    # An archive's profile can name its newsletter its own way; the default forms then no longer apply.
    mine = ("Rust Weekly {n}", "edition of {date}")
    assert extract_issue_ref("rust weekly no. 12 tokio", mine) == (IssueRef(number=12), "tokio")
    assert extract_issue_ref("the edition of 2024-01-03", mine) == (JAN_3, "the")
    assert extract_issue_ref("TWiR 528 tokio", mine) == (None, "TWiR 528 tokio")
    assert parse_issue_ref("Rust Weekly 12", mine) == IssueRef(number=12)
    assert parse_issue_ref("TWiR 12", mine) is None
    # A profile's year-and-week form (Akira's 2021 年第 13 周), either way round.
    weeks = ("{year} 年第 {week} 周", "week {week} of {year}", "#{n}")
    assert extract_issue_ref("2021年第13周 变压器", weeks) == (IssueRef(year=2021, week=13), "变压器")
    assert extract_issue_ref("ViT, week 13 of 2021", weeks) == (IssueRef(year=2021, week=13), "ViT")
    assert parse_issue_ref("#18", weeks) == IssueRef(number=18)
    # The forms that are not templates (#18, 2021-W13, 最新一期) stay.
    assert extract_issue_ref("#18 tokio", mine) == (IssueRef(number=18), "tokio")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{n}", "needs some text besides its placeholders"),
        ("TWiR", "needs one placeholder"),
        ("{n} of {date}", "needs one placeholder"),
        ("{year} week", "or both {year} and {week}"),
        ("{year}{week}", "needs some text besides its placeholders"),
        ("{month}", "needs some text besides its placeholders"),
        ("week {w}", "unknown placeholder {w}"),
        ("TWiR {n} }", "a brace outside its placeholder"),
    ],
)
def test_bad_templates_are_named(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        extract_issue_ref("TWiR 528", (template,))
    assert repr(template) in str(err.value)


def test_parse_date_forms() -> None:
    assert parse_issue_ref("the week of 2024-01-03") == JAN_3
    assert parse_issue_ref("2024 年 1 月 3 日 issue") == JAN_3
    assert parse_issue_ref("TWiR 528") == IssueRef(number=528)
    assert parse_issue_ref("周刊 350") == IssueRef(number=350)


def test_matches_a_date_by_its_week() -> None:
    twir = _issue(id="this-week-in-rust-528", number=528, date=dt.date(2024, 1, 3))  # a Wednesday
    assert matches(JAN_3, twir)
    assert matches(IssueRef(date=dt.date(2024, 1, 1)), twir)  # Monday of that week
    assert matches(IssueRef(date=dt.date(2024, 1, 7)), twir)  # Sunday of that week
    assert not matches(IssueRef(date=dt.date(2024, 1, 8)), twir)
    assert not matches(IssueRef(date=dt.date(2023, 12, 31)), twir)
    estimated = _issue(number=29, date=dt.date(2024, 1, 3), date_estimated=True)
    assert not matches(JAN_3, estimated)  # an estimated date names no week
    assert not matches(JAN_3, _issue(number=1))  # no date at all


def test_a_question_without_digits_names_bad_templates_and_compiles_none() -> None:
    from retrieval.issueref import compile_templates

    with pytest.raises(ValueError, match="unknown placeholder"):
        extract_issue_ref("最新的论文", ("week {w}",))
    compile_templates.cache_clear()
    assert extract_issue_ref("transformer 注意力 TWiR", ("TWiR {n}",)) == (None, "transformer 注意力 TWiR")
    assert compile_templates.cache_info().currsize == 0  # nothing could match: nothing compiled
    assert extract_issue_ref("TWiR 528 注意力", ("TWiR {n}",)) == (IssueRef(number=528), "注意力")
