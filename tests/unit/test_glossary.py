"""Tests for retrieval/glossary.py (query expansion) and retrieval/cedict.py (the dictionary bridge)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from retrieval.cedict import MAX_TOTAL_WEIGHT, MAX_TRANSLATIONS, MAX_WEIGHT, Cedict, english_forms, parse_line
from retrieval.glossary import Glossary, WeightedTerm, fold_plural
from retrieval.lexical import normalize
from retrieval.text import Analyzer, AnalyzerConfig

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config"
GLOSSARY = CONFIG / "glossary.toml"


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Analyzer:
    cache = tmp_path_factory.mktemp("glossary-cache")
    return Analyzer(AnalyzerConfig(CONFIG / "userdict.txt", CONFIG / "stopwords.txt", cache))


@pytest.fixture(scope="module")
def glossary(analyzer: Analyzer) -> Glossary:
    return Glossary.load(GLOSSARY, analyzer)


@pytest.fixture(scope="module")
def cedict(analyzer: Analyzer) -> Cedict:
    # Builds the index once (a few seconds) into this module's temporary cache directory.
    return Cedict.load(analyzer.config.cache_dir, analyzer.word_frequency)


def _renderings(glossary: Glossary, key: str) -> set[str]:
    return {m for g in glossary.groups if g.key == key for m in g.zh}


# --- the glossary file -------------------------------------------------------------------------


def test_glossary_file_loads(glossary: Glossary) -> None:
    assert len(glossary) >= 80
    assert len(glossary.fingerprint) == 64


@pytest.mark.parametrize(
    ("key", "renderings"),
    [
        ("transformer", {"变压器", "变形金刚", "转换器", "变换器"}),
        ("vision transformer", {"视觉变形金刚"}),
        ("clip", {"剪辑"}),
        ("paper", {"论文", "报纸"}),
        ("self-attention", {"自我注意", "自我关注"}),
        ("robustness", {"鲁棒性", "稳健性"}),
        ("adversarial", {"对抗"}),
        ("reinforcement learning", {"强化学习"}),
        ("generative adversarial network", {"甘", "生成对抗网络"}),
        ("object detection", {"物体检测", "目标检测"}),
        ("knowledge distillation", {"知识蒸馏", "提炼"}),
        ("pruning", {"修剪"}),
        ("tabular data", {"表格"}),
        ("padding", {"填充"}),
        ("camera", {"相机", "摄像头"}),
        ("heartbeat", {"心跳"}),
    ],
)
def test_glossary_has_the_archive_renderings(glossary: Glossary, key: str, renderings: set[str]) -> None:
    assert renderings <= _renderings(glossary, key)


def test_typed_tokens_stay_at_one_and_renderings_weigh_less(analyzer: Analyzer, glossary: Glossary) -> None:
    tokens = analyzer.query_tokens("哪一期讲了视觉变形金刚的鲁棒性？")
    terms = glossary.expand(tokens)
    typed = [t for t in terms if t.source == "query"]
    assert [t.token for t in typed] == tokens
    assert all(t.weight == 1.0 for t in typed)
    added = [t for t in terms if t.source != "query"]
    assert added
    assert all(0 < t.weight < 1 for t in added)
    assert {"vit", "稳健性"} <= {t.token for t in added}


def test_english_to_chinese(analyzer: Analyzer, glossary: Glossary) -> None:
    terms = {t.token: t for t in glossary.expand(analyzer.query_tokens("transformer papers"))}
    assert {"变压器", "变形金刚", "转换器", "变换器", "论文", "报纸"} <= set(terms)
    assert terms["变压器"] == WeightedTerm("变压器", 0.6, "glossary")


def test_chinese_to_english_and_siblings(analyzer: Analyzer, glossary: Glossary) -> None:
    tokens = {t.token for t in glossary.expand(analyzer.query_tokens("變壓器"))}
    assert {"transformer", "变形金刚", "转换器"} <= tokens


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("vision transformer", "vision transformer"),
        ("Vision Transformers are robust", "vision transformer"),
        ("self-attention", "self-attention"),
        ("self attention layers", "self-attention"),
        ("knowledge distillation", "knowledge distillation"),
        ("object detection with DETR", "object detection"),
    ],
)
def test_multi_word_terms_match_consecutive_tokens(
    analyzer: Analyzer, glossary: Glossary, query: str, key: str
) -> None:
    matched = [g.key for g in glossary.matches(analyzer.query_tokens(query))]
    assert key in matched
    if key == "vision transformer":
        assert "transformer" not in matched  # longest match wins


def test_words_apart_do_not_match_a_phrase(analyzer: Analyzer, glossary: Glossary) -> None:
    matched = [g.key for g in glossary.matches(analyzer.query_tokens("vision models and a transformer"))]
    assert "vision transformer" not in matched
    assert "transformer" in matched


def test_subwords_of_a_match_do_not_match_again(analyzer: Analyzer, glossary: Glossary) -> None:
    matched = [g.key for g in glossary.matches(analyzer.query_tokens("自监督学习"))]
    assert matched == ["self-supervised learning"]


def test_multi_token_rendering_shares_its_weight(analyzer: Analyzer, glossary: Glossary) -> None:
    terms = {t.token: t.weight for t in glossary.expand(analyzer.query_tokens("视觉变形金刚"))}
    assert terms["vit"] == 0.6
    assert terms["vision"] == terms["transformer"] == 0.3


def test_glossary_weight_override(analyzer: Analyzer, glossary: Glossary) -> None:
    tokens = analyzer.query_tokens("CLIP")
    assert {t.weight for t in glossary.expand(tokens, glossary_weight=0.4) if t.source == "glossary"} == {0.4}
    assert glossary.expand(tokens, glossary_weight=0.0) == [WeightedTerm("clip", 1.0, "query")]
    with pytest.raises(ValueError, match="weights"):
        glossary.expand(tokens, glossary_weight=1.0)


def test_fold_plural() -> None:
    assert fold_plural("transformers") == "transformer"
    assert fold_plural("gans") == "gan"
    assert fold_plural("loss") == "loss"
    assert fold_plural("变压器") == "变压器"


def test_every_rendering_is_normalized_and_tokenizes(analyzer: Analyzer, glossary: Glossary) -> None:
    for group in glossary.groups:
        for member in group.members:
            assert normalize(member) == member
            assert analyzer.base_tokens(member), (group.key, member)


# --- a bad glossary file names the bad key -----------------------------------------------------------

BAD_GLOSSARIES = [
    ('[good]\nzh = ["好"]\n\n[broken]\nen = ["x"]\n', "'broken'", "'zh'"),
    ('[broken]\nzh = "变压器"\n', "'broken'", "list"),
    ("[broken]\nzh = []\n", "'broken'", "empty"),
    ('[broken]\nzh = ["变压器"]\nnote = "x"\n', "'broken'", "unknown field"),
    ('[Broken]\nzh = ["变压器"]\n', "'Broken'", "lower case"),
    ('[broken]\nzh = ["變壓器"]\n', "'broken'", "simplified"),
    ('[broken]\nzh = ["变压器", "变压器"]\n', "'broken'", "twice"),
    ('[broken]\nzh = ["的了吗"]\n', "'broken'", "no tokens"),
    ("broken = 3\n", "'broken'", "table"),
]


@pytest.mark.parametrize(("text", "key", "message"), BAD_GLOSSARIES)
def test_bad_glossary_entry_names_its_key(
    analyzer: Analyzer, tmp_path: Path, text: str, key: str, message: str
) -> None:
    path = tmp_path / "glossary.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(key)) as info:
        Glossary.load(path, analyzer)
    assert message in str(info.value)


def test_invalid_toml_names_the_file(analyzer: Analyzer, tmp_path: Path) -> None:
    path = tmp_path / "glossary.toml"
    path.write_text("[transformer\nzh = [", encoding="utf-8")
    with pytest.raises(ValueError, match=r"glossary\.toml: not valid TOML"):
        Glossary.load(path, analyzer)


# --- the CC-CEDICT bridge -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("english", "expected", "top"),
    [
        ("camera", "相机", 2),
        ("heartbeat", "心跳", 1),
        ("tabular", "表格", MAX_TRANSLATIONS),
        ("padding", "衬垫", MAX_TRANSLATIONS),
    ],
)
def test_cedict_translations(cedict: Cedict, english: str, expected: str, top: int) -> None:
    found = cedict.translations(english)
    assert expected in [word for word, _ in found][:top]


@pytest.mark.parametrize("english", ["camera", "heartbeat", "tabular", "padding", "table", "run", "set", "heart rate"])
def test_cedict_weights_are_capped(cedict: Cedict, english: str) -> None:
    found = cedict.translations(english)
    assert 0 < len(found) <= MAX_TRANSLATIONS
    assert all(0 < weight <= MAX_WEIGHT for _, weight in found)
    assert sum(weight for _, weight in found) <= MAX_TOTAL_WEIGHT + 1e-6
    assert [w for _, w in found] == sorted((w for _, w in found), reverse=True)


@pytest.mark.parametrize("english", ["", "gpt-3", "变压器", "xqzv", "a"])
def test_cedict_unknown_gives_nothing(cedict: Cedict, english: str) -> None:
    assert cedict.translations(english) == []


def test_cedict_exact_sense_beats_a_longer_gloss(cedict: Cedict) -> None:
    words = [w for w, _ in cedict.translations("camera")]
    assert words[0] == "照相机"  # its only sense is "camera"
    assert words.index("相机") < words.index("摄像机")  # "video camera" is a longer gloss


def test_cedict_without_frequency_prior(analyzer: Analyzer, cedict: Cedict) -> None:
    plain = Cedict.load(analyzer.config.cache_dir)
    assert "相机" in dict(plain.translations("camera"))
    assert "心跳" in dict(plain.translations("heartbeat"))


def test_cedict_cache_is_reused_and_survives_damage(analyzer: Analyzer, cedict: Cedict) -> None:
    cache_files = list(analyzer.config.cache_dir.glob("cedict-*.pickle"))
    assert len(cache_files) == 1
    cache_files[0].write_bytes(b"not a pickle")
    rebuilt = Cedict.load(analyzer.config.cache_dir, analyzer.word_frequency)
    assert rebuilt.translations("camera") == cedict.translations("camera")
    assert cache_files[0].stat().st_size > 1_000_000


def test_parse_line_flags() -> None:
    surname = parse_line("王 王 [Wang2] /surname Wang/")
    assert surname is not None
    assert surname.surname
    assert surname.senses == ()
    classifier = parse_line("張 张 [zhang1] /classifier for flat objects, sheet/to open up/surname Zhang/")
    assert classifier is not None
    assert classifier.classifier
    assert classifier.surname
    assert classifier.senses == ("to open up",)
    assert parse_line("# comment") is None
    assert parse_line("not a line") is None


def test_english_forms() -> None:
    assert ("pad", 0.85) in english_forms("padding")
    assert ("table", 0.6) in english_forms("tabular")
    assert ("study", 0.85) in english_forms("studies")


class _Recorder:
    """A fake translator that records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def translations(self, english: str) -> list[tuple[str, float]]:
        self.asked.append(english)
        return [("心率", 0.5)] if english == "heart rate" else []


def test_cedict_only_for_ascii_words_without_a_glossary_entry(analyzer: Analyzer, glossary: Glossary) -> None:
    recorder = _Recorder()
    tokens = analyzer.query_tokens("transformer 变压器 heart rate gpt-3 scikit-learn 2021")
    terms = glossary.expand(tokens, cedict=recorder)
    assert recorder.asked == ["heart rate"]
    assert WeightedTerm("心率", 0.5, "cedict") in terms


def test_cedict_weight_rescales(analyzer: Analyzer, glossary: Glossary) -> None:
    terms = glossary.expand(["heart", "rate"], cedict=_Recorder(), cedict_weight=0.25)
    assert WeightedTerm("心率", 0.25, "cedict") in terms


def test_expand_with_the_real_dictionary(analyzer: Analyzer, glossary: Glossary, cedict: Cedict) -> None:
    terms = glossary.expand(analyzer.query_tokens("pulse from a webcam"), cedict=cedict)
    assert [t.token for t in terms if t.source == "query"] == ["pulse", "webcam"]
    bridged = [t for t in terms if t.source == "cedict"]
    assert "摄像头" in {t.token for t in bridged}
    assert all(t.weight <= MAX_WEIGHT for t in bridged)


# --- the archive really uses these renderings -------------------------------------------------------


@pytest.mark.corpus
def test_machine_translation_variants_occur_in_the_archive(glossary: Glossary, corpus_dir: Path) -> None:
    text = normalize("".join(p.read_text(encoding="utf-8") for p in sorted((corpus_dir / "akira").glob("*.md"))))
    variants = {
        "transformer": ["变压器", "变形金刚", "转换器", "变换器", "变形器"],
        "vision transformer": ["视觉变形金刚", "视觉变压器", "视觉转换器"],
        "clip": ["剪辑"],
        "paper": ["报纸"],
        "self-attention": ["自我注意", "自我关注"],
        "generative adversarial network": ["甘"],
        "zero-shot": ["零镜头", "零拍"],
        "few-shot": ["少镜头"],
        "knowledge distillation": ["知识提炼", "知识升华"],
        "dropout": ["辍学", "漏失"],
        "hugging face": ["拥抱脸", "抱抱脸"],
        "superglue": ["强力胶"],
        "pytorch lightning": ["闪电"],
        "deepfake": ["深度造假", "深度假货"],
        "mean average precision": ["地图"],
        "padding": ["填充", "护垫"],
        "heartbeat": ["心跳"],
    }
    for key, renderings in variants.items():
        assert set(renderings) <= _renderings(glossary, key), key
        for rendering in renderings:
            assert rendering in text, (key, rendering)
    found = sum(1 for g in glossary.groups for z in g.zh if z in text)
    total = sum(len(g.zh) for g in glossary.groups)
    assert found / total > 0.8


@pytest.mark.parametrize("damage", ["none", "garbage", "truncated", "wrong tokens", "not a dict"])
def test_saved_glossary_tokens_are_used_only_when_whole(tmp_path: Path, damage: str) -> None:
    # The first load saves each member's tokens under the analyzer's fingerprint; a later load reads them; a damaged
    # file is tokenized again and rewritten, and the glossary is the same every time.
    import marshal

    analyzer = Analyzer(AnalyzerConfig(CONFIG / "userdict.txt", CONFIG / "stopwords.txt", tmp_path))
    first = Glossary.load(GLOSSARY, analyzer)
    (saved,) = tmp_path.glob("glossary-tokens-*.marshal")
    good = saved.read_bytes()
    if damage == "garbage":
        saved.write_bytes(b"not marshal data")
    elif damage == "truncated":
        saved.write_bytes(good[: len(good) // 2])
    elif damage == "wrong tokens":
        tokens = marshal.loads(good)
        saved.write_bytes(marshal.dumps({text: ["not", "a", "tuple"] for text in tokens}))
    elif damage == "not a dict":
        saved.write_bytes(marshal.dumps(["x"]))
    again = Glossary.load(GLOSSARY, analyzer)
    assert again._members == first._members
    assert again._index == first._index
    assert [m.tokens for ms in first._members for m in ms] == [
        tuple(analyzer.base_tokens(t)) for g in first.groups for t in g.members]
    assert saved.read_bytes() == good
