"""Tests for mojibake detection and repair (retrieval.repair, retrieval.charlm, retrieval.measure.repair_eval).

Golden cases are our own sentences in tests/unit/golden/repair_cases.json; the test damages each one with the
named recipe and repairs it. Known wrong repairs are strict xfails, so an improvement is noticed too.
Repair measured over whole issues (leave-one-out, other text, the seed articles of the shared corpus) is in
tests/system/test_repair_measures.py (seconds to minutes apiece).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ftfy
import ftfy.bad_codecs  # registers the sloppy codecs used to damage text
import pytest
from damage import CP1254_DROPPED, lost_bytes
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from retrieval.charlm import CharLM
from retrieval.measure.repair_eval import (
    corrupt_cp1254,
)
from retrieval.repair import _agree, _codepage, _decode, _parse, detect_mojibake, fill_candidates, repair_text

GOLDEN = Path(__file__).parent / "golden" / "repair_cases.json"
USERDICT = Path(__file__).resolve().parents[2] / "config" / "userdict.txt"
"""The project's jieba user dictionary: what the product passes to CharLM.from_jieba."""

GARBLE: dict[str, Callable[[str], str]] = {
    "lossy-cp1254": corrupt_cp1254,
    "cp1252": lambda s: s.encode("utf-8").decode("cp1252"),
    "sloppy-cp1252": lambda s: s.encode("utf-8").decode("sloppy-windows-1252"),
    "sloppy-cp1254": lambda s: s.encode("utf-8").decode("sloppy-windows-1254"),
    "latin-1": lambda s: s.encode("utf-8").decode("latin-1"),
    "none": lambda s: s,
}


def _cases() -> list[Any]:
    params = []
    for case in json.loads(GOLDEN.read_text(encoding="utf-8"))["cases"]:
        marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
        params.append(pytest.param(case, id=case["id"], marks=marks))
    return params



@pytest.fixture(scope="module")
def lm() -> CharLM:
    return CharLM.from_jieba()


@pytest.mark.parametrize("case", _cases())
def test_golden_repair(case: dict[str, Any], lm: CharLM) -> None:
    truth: str = case["text"]
    garbled = GARBLE[case["garble"]](truth)
    model = lm.with_context(case["context"]) if "context" in case else lm
    result = repair_text(garbled, model)
    assert result.text == truth
    if case["garble"] == "none":
        assert result.text is garbled
        assert (result.codepage, result.damaged, result.filled, result.uncertain) == (None, 0, 0, 0)
        assert result.report("x.md") is None
        return
    assert garbled != truth
    if "codepage" in case:
        assert result.codepage == case["codepage"]
    assert result.codepage is not None
    expected_damage = lost_bytes(truth) if case["garble"] == "lossy-cp1254" else 0
    assert result.damaged == expected_damage
    assert result.filled == result.damaged
    assert 0 <= result.uncertain <= result.filled


@pytest.mark.parametrize("case", [c for c in _cases() if c.values[0]["garble"] == "none"])
def test_detect_leaves_clean_text_alone(case: dict[str, Any]) -> None:
    assert detect_mojibake(case["text"]) is None


def test_ftfy_default_changes_clean_chinese_but_our_repair_does_not() -> None:
    # Why repair_text never calls ftfy.fix_text with its defaults (notes §3.2).
    clean = "你好，世界！"
    assert ftfy.fix_text(clean) != clean
    assert repair_text(clean).text == clean


def test_report_carries_the_counts(lm: CharLM) -> None:
    result = repair_text(corrupt_cp1254("我们在小数据集上训练了一个新的模型。"), lm)
    report = result.report("a/b.md")
    assert report is not None
    assert (report.path, report.codepage, report.damaged) == ("a/b.md", "cp1254", result.damaged)
    assert report.damaged > 0


def test_real_accents_beside_lossless_mojibake_survive() -> None:
    # "à" and "ô" are lead bytes with nothing after them; with no byte lost anywhere they are letters.
    result = repair_text("cafÃ© crÃ¨me brÃ»lÃ©e, à côté")
    assert (result.text, result.codepage, result.damaged) == ("café crème brûlée, à côté", "cp1252", 0)


def test_character_that_lost_all_its_continuation_bytes_is_repaired(lm: CharLM) -> None:
    # 提 is E6 8F 90: cp1254 drops both continuation bytes and only "æ" is left.
    result = repair_text(corrupt_cp1254("我们提出了新方法。"), lm)
    assert corrupt_cp1254("提") == "æ"
    assert result.text == "我们提出了新方法。"
    assert result.damaged == 1


def test_cp1252_tie_goes_to_cp1254_when_bytes_were_lost() -> None:
    # 与 is E4 B8 8E: cp1252 would have kept 0x8E as Ž, so a lossy text without Ž is cp1254.
    assert detect_mojibake(corrupt_cp1254("与其等待，不如行动。")) == "cp1254"
    assert detect_mojibake("与其等待".encode().decode("sloppy-windows-1252")) == "cp1252"


# Han characters, full-width punctuation and ASCII: what the archive is made of.
_ARCHIVE_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.sampled_from("，。！？、：；“”‘’（）《》…—"),
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    ),
    max_size=40,
)


@given(_ARCHIVE_TEXT)
@settings(max_examples=200, deadline=None)
def test_clean_archive_text_is_never_flagged(text: str) -> None:
    assert detect_mojibake(text) is None


@given(st.characters(min_codepoint=0x800, max_codepoint=0xFFFF, categories=("L", "N", "P", "S")))
@settings(max_examples=500, deadline=None)
def test_lost_character_is_always_a_candidate(ch: str) -> None:
    data = ch.encode("utf-8")
    survived = bytes(b for b in data if b not in CP1254_DROPPED)
    if survived == data:
        assert fill_candidates(survived) == ()
    else:
        assert ch in fill_candidates(survived)


@given(
    st.text(
        alphabet=st.one_of(
            st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
            st.sampled_from("提描非后子不中与"),  # the first five keep only their lead byte
            st.sampled_from(" ，。a1"),
        ),
        min_size=6,
        max_size=30,
    )
)
@settings(max_examples=60, deadline=None)
def test_lossy_repair_keeps_length_and_undamaged_characters(text: str) -> None:
    # Detection needs one intact multi-byte sequence to tell mojibake from other debris.
    assume(any(not c.isascii() and lost_bytes(c) == 0 for c in text))
    garbled = corrupt_cp1254(text)
    result = repair_text(garbled)
    assert len(result.text) == len(text)
    assert result.damaged == lost_bytes(text)
    for got, want in zip(result.text, text, strict=True):
        if not any(b in CP1254_DROPPED for b in want.encode("utf-8")[1:]):
            assert got == want


def _damaged_items(text: str) -> list[Any]:
    return _parse(corrupt_cp1254(text), _codepage("cp1254"), lone_leads=True)


def test_a_recurring_damaged_word_gets_one_reading(lm: CharLM) -> None:
    # 恶意 (E6 81 B6, E6 84 8F) and 架构 (E6 9E B6, E6 9E 84) lose their bytes to the same two-character damage.
    text = "平台打击恶意信息的传播。许多虚假和恶意信息来自机器人账号。"
    items = _damaged_items(text)
    out = _decode(items, lm)
    assert "".join(out) == text
    second = text.index("恶意", text.index("恶意") + 1)
    misread = list(out)
    misread[second : second + 2] = ["架", "构"]  # what a context full of model architectures did to seed 000
    _agree(items, misread, lm)
    assert "".join(misread) == text
    # Without the recurrence there is nothing to agree with, and the misreading stands.
    alone = text[: text.index("。") + 1]
    lone_items = _damaged_items(alone)
    lone = _decode(lone_items, lm)
    lone[4:6] = ["架", "构"]
    _agree(lone_items, lone, lm)
    assert "".join(lone[4:6]) == "架构"


def test_lone_damaged_characters_agree_only_with_the_same_neighbours(lm: CharLM) -> None:
    # 不, 与 and 中 all read "ä¸"; as single characters they are grouped only when both neighbours match.
    text = "这不是问题。数据与模型。这不是坏事。"
    items = _damaged_items(text)
    out = _decode(items, lm)
    middle = text.index("与")
    out[middle] = "中"
    _agree(items, out, lm)
    assert out[middle] == "中"  # "据ä¸模" has no twin: left as it was
    first, last = text.index("不"), text.rindex("不")
    out[last] = "与"  # 这?是 twice: the reading with the better summed score (不) wins in both
    _agree(items, out, lm)
    assert out[first] == out[last] == "不"


def test_context_raises_the_probability_of_its_phrases(lm: CharLM) -> None:
    phrase = "感受野变宽了"
    richer = lm.with_context(["卷积网络的感受野很重要。", "更大的感受野看得更远。"])
    assert richer.has_context
    assert not lm.has_context
    assert richer.logprob(phrase) > lm.logprob(phrase)
    # with_context adds to, rather than replaces, what a model already knows.
    assert richer.with_context(["另一句话。"]).logprob(phrase) > lm.logprob(phrase)


def test_dictionary_model_is_built_once() -> None:
    assert CharLM.from_jieba() is CharLM.from_jieba()


def test_dictionary_model_is_memoised_on_the_userdict_content(tmp_path: Path) -> None:
    with_user = CharLM.from_jieba(USERDICT)
    assert with_user is CharLM.from_jieba(USERDICT)
    copy = tmp_path / "copy.txt"
    copy.write_bytes(USERDICT.read_bytes())
    assert CharLM.from_jieba(copy) is with_user
    assert with_user is not CharLM.from_jieba()


def test_userdict_words_enter_the_word_model(tmp_path: Path) -> None:
    # 感受野 and 深假 are in config/userdict.txt, not in jieba's dict.txt.
    plain = CharLM.from_jieba()
    with_user = CharLM.from_jieba(USERDICT)
    for word in ("感受野", "深假"):
        assert with_user.logprob(word) > plain.logprob(word) + 3.0
    # Read like the analyzer reads it: normalized (traditional -> simplified), a missing freq gets jieba's
    # suggested one, and non-Chinese words are ignored rather than rejected.
    small = tmp_path / "small.txt"
    small.write_text("感受野\n深僞 3 n\nGPT-3 2000 eng\n", encoding="utf-8")
    model = CharLM.from_jieba(small)
    assert model.logprob("感受野") > plain.logprob("感受野")
    assert model.logprob("深伪") > plain.logprob("深伪")
