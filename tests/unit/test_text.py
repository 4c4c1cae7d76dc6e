"""Tests for retrieval/text.py and retrieval/lexical.py: the analyzer shared by the index and the queries."""

from __future__ import annotations

import marshal
import multiprocessing
import pickle
import random
import subprocess
import sys
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval import jiebadict
from retrieval.lexical import dedupe, is_cjk_word, normalize, split_word_run
from retrieval.text import Analyzer, AnalyzerConfig, load_stopwords, load_userdict

REPO = Path(__file__).resolve().parents[2]
USERDICT = REPO / "config" / "userdict.txt"
STOPWORDS = REPO / "config" / "stopwords.txt"


def _config(cache_dir: Path, stopwords: Path = STOPWORDS) -> AnalyzerConfig:
    return AnalyzerConfig(userdict=USERDICT, stopwords=stopwords, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Analyzer:
    return Analyzer(_config(tmp_path_factory.mktemp("analyzer-cache")))


# --- tokens of typical sentences (golden) -------------------------------------------------------

GOLDEN = [
    # Chinese: a reader's question; question words and particles go, the topic stays.
    ("哪一期讲了不用乘法的矩阵乘积？", ["不用", "乘法", "矩阵", "乘积"]),
    ("有没有关于对比学习的文章？", ["对比学习", "对比", "学习", "文章"]),
    # English
    (
        "Self-attention in GPT-3 and ResNet-50.",
        ["self", "attention", "gpt-3", "gpt", "gpt3", "resnet-50", "resnet", "resnet50"],
    ),
    # mixed
    ("ViT的分类行为比CNN更像人类", ["vit", "分类", "行为", "cnn", "像", "人类"]),
    ("用CutMix和BERT做数据增强", ["cutmix", "bert", "数据增强", "数据", "增强"]),
    # traditional + full width
    ("ＶｉＴ與變壓器", ["vit", "变压器", "变压"]),
    # numbers and ids stay whole
    ("【2106.10860】16x16 patches, 83.1% top-1", ["2106.10860", "16x16", "patches", "83.1", "top-1", "top", "top1"]),
]


@pytest.mark.parametrize(("text", "expected"), GOLDEN)
def test_index_tokens_golden(analyzer: Analyzer, text: str, expected: list[str]) -> None:
    assert analyzer.index_tokens(text) == expected


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("GPT-3 每天产生 45 亿个单词", "gpt-3"),
        ("ViT的分类行为", "vit"),
        ("使用CutMix进行数据增强", "cutmix"),
        ("在ResNet-50上训练", "resnet-50"),
        ("BERT预训练", "bert"),
        ("MLP-Mixer 和 U-Net", "mlp-mixer"),
        ("scikit-learn 1.0 发布", "scikit-learn"),
        ("tensorflow.js 运行对象检测模型", "tensorflow.js"),
        ("自监督学习与对比学习", "自监督学习"),
        ("神经架构搜索很难", "神经架构搜索"),
        ("知识蒸馏", "知识蒸馏"),
    ],
)
def test_user_dictionary_terms_stay_whole(analyzer: Analyzer, text: str, term: str) -> None:
    assert term in analyzer.base_tokens(text)


def test_traditional_normalizes_to_simplified(analyzer: Analyzer) -> None:
    assert normalize("變壓器") == "变压器"
    assert analyzer.base_tokens("基於變壓器的模型") == analyzer.base_tokens("基于变压器的模型")
    assert "变压器" in analyzer.index_tokens("變壓器")


def test_full_width_is_folded(analyzer: Analyzer) -> None:
    assert analyzer.index_tokens("ＶｉＴ") == ["vit"]
    assert normalize("ＧＰＴ－３") == "gpt-3"


def test_subword_lets_a_part_match_the_compound(analyzer: Analyzer) -> None:
    tokens = analyzer.index_tokens("深度学习")
    assert tokens[0] == "深度学习"
    assert "学习" in tokens
    assert "深度" in tokens
    # Right-headed compounds: the suffix is the thing itself.
    assert "相机" in analyzer.index_tokens("照相机")


def test_subwords_skip_straddling_noise(analyzer: Analyzer) -> None:
    # cut_for_search would emit 督学 ("school inspector") from 自监督学习.
    assert "督学" not in analyzer.index_tokens("自监督学习")


def test_stop_words_are_dropped(analyzer: Analyzer) -> None:
    tokens = analyzer.index_tokens("哪一期讲了什么？这是关于 the transformer 的吗")
    assert tokens == ["transformer"]
    assert not set(analyzer.index_tokens("我们在这篇文章中介绍了的了吗呢")) & analyzer.stopwords


def test_meaningful_words_are_not_stop_words(analyzer: Analyzer) -> None:
    for word in ["论文", "文章", "报纸", "学习", "模型", "数据", "不用", "无需", "乘法", "paper", "model"]:
        assert not analyzer.is_stopword(word), word


@pytest.mark.parametrize(
    "text", ["", "   ", "？！。，、；：“”（）【】", "...---!!!", "🙂👍🏽", "\x00\x01\u200b\u200d", "\ufeff"]
)
def test_no_tokens_from_empty_or_punctuation(analyzer: Analyzer, text: str) -> None:
    assert analyzer.index_tokens(text) == []
    assert analyzer.query_tokens(text) == []


def test_query_tokens_are_deduplicated_in_order(analyzer: Analyzer) -> None:
    assert analyzer.query_tokens("矩阵 乘法 矩阵 GPT-3 gpt-3") == ["矩阵", "乘法", "gpt-3", "gpt", "gpt3"]
    assert dedupe(["b", "a", "b"]) == ["b", "a"]


def test_split_word_run_rules() -> None:
    assert split_word_run("state-of-the-art") == [("state", ()), ("of", ()), ("the", ()), ("art", ())]
    assert split_word_run("efficientdet-d7") == [("efficientdet-d7", ("efficientdet", "efficientdetd7"))]
    assert split_word_run("v1.8") == [("v1.8", ())]
    assert split_word_run("medium.com") == [("medium", ()), ("com", ())]


# --- any Unicode ----------------------------------------------------------------------------------


def _check_tokens(analyzer: Analyzer, text: str) -> None:
    tokens = analyzer.index_tokens(text)
    query = analyzer.query_tokens(text)
    for token in tokens:
        assert token
        assert not any(ch.isspace() for ch in token)
        assert any(unicodedata.category(ch)[0] in "LN" for ch in token)
        assert not analyzer.is_stopword(token)
    assert len(query) == len(set(query))
    assert set(query) == set(tokens)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec=None), max_size=400))
def test_any_unicode_never_raises(analyzer: Analyzer, text: str) -> None:
    _check_tokens(analyzer, text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="深度学习自监督变壓器ＶｉＴ的了吗？ GPT-3.5x16_-", max_size=200))
def test_dense_mixed_text_never_raises(analyzer: Analyzer, text: str) -> None:
    _check_tokens(analyzer, text)


def test_long_random_input(analyzer: Analyzer) -> None:
    rng = random.Random(20240601)
    pools = [
        range(0x20, 0x7F),  # ASCII
        range(0x4E00, 0x9FFF),  # CJK
        range(0x3000, 0x3040),  # CJK punctuation
        range(0xFF01, 0xFF5E),  # full width
        range(0x1F300, 0x1FAFF),  # emoji
        range(0x0000, 0x0020),  # control characters
        range(0xD800, 0xE000),  # lone surrogates
    ]
    text = "".join(chr(rng.choice(rng.choice(pools))) for _ in range(5000))
    _check_tokens(analyzer, text)
    assert analyzer.index_tokens(text)


# --- configuration files through the real loaders ----------------------------------------------


def test_userdict_loads_and_is_normalized() -> None:
    words = load_userdict(USERDICT)
    assert len(words) >= 300
    names = {w.word for w in words}
    assert {
        "gpt-3",
        "vit",
        "cutmix",
        "resnet-50",
        "bert",
        "自监督学习",
        "对比学习",
        "知识蒸馏",
        "神经架构搜索",
    } <= names
    assert all(w.word == normalize(w.word) for w in words)


def test_every_user_word_is_cut_whole(analyzer: Analyzer) -> None:
    broken = [
        w.word
        for w in analyzer.user_words
        if not analyzer.is_stopword(w.word) and analyzer.base_tokens(w.word) != [w.word]
    ]
    assert broken == []


def test_stopwords_load() -> None:
    words = load_stopwords(STOPWORDS)
    assert {"的", "了", "吗", "什么", "哪一期", "讲了", "关于", "the", "which"} <= words


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("squad 2.0 100", "bad field"),
        ("bert模型 100 nz", "one CJK run"),
        ("对比学习 0 nz", "positive"),
        ("对比学习 100 NZ", "bad field"),
    ],
)
def test_bad_userdict_line_names_it(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "userdict.txt"
    path.write_text(f"对比学习 100 nz\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        load_userdict(path)
    assert ":2:" in str(info.value)


def test_userdict_words_are_normalized_on_load(tmp_path: Path) -> None:
    path = tmp_path / "userdict.txt"
    path.write_text("GPT-4 100 nz\nＶｉＴ\n變壓器 2000\n", encoding="utf-8")
    assert [w.word for w in load_userdict(path)] == ["gpt-4", "vit", "变压器"]


def test_is_cjk_word() -> None:
    assert is_cjk_word("变压器")
    assert not is_cjk_word("vit模型")


# --- fingerprint, pickling, processes, jieba hygiene ---------------------------------------------


def test_fingerprint_changes_with_stop_words(analyzer: Analyzer, tmp_path: Path) -> None:
    assert len(analyzer.fingerprint) == 64
    assert analyzer.fingerprint == analyzer.fingerprint
    other_stopwords = tmp_path / "stopwords.txt"
    other_stopwords.write_text(STOPWORDS.read_text(encoding="utf-8") + "\n模型\n", encoding="utf-8")
    other = Analyzer(_config(analyzer.config.cache_dir, other_stopwords))
    assert other.fingerprint != analyzer.fingerprint
    assert "模型" not in other.index_tokens("模型")


def test_pickle_rebuilds_an_equivalent_analyzer(analyzer: Analyzer) -> None:
    clone = pickle.loads(pickle.dumps(analyzer))
    assert clone is not analyzer
    assert clone.fingerprint == analyzer.fingerprint
    text = GOLDEN[0][0] + GOLDEN[2][0]
    assert clone.index_tokens(text) == analyzer.index_tokens(text)


def test_config_is_picklable(analyzer: Analyzer) -> None:
    assert pickle.loads(pickle.dumps(analyzer.config)) == analyzer.config


_worker: Analyzer | None = None


def _init_worker(config: AnalyzerConfig) -> None:
    global _worker
    _worker = Analyzer(config)


def _tokenize(text: str) -> list[str]:
    assert _worker is not None
    return _worker.index_tokens(text)


def test_worker_processes_give_the_same_tokens(analyzer: Analyzer) -> None:
    texts = [text for text, _ in GOLDEN] * 3
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context, initializer=_init_worker, initargs=(analyzer.config,)) as pool:
        results = list(pool.map(_tokenize, texts))
    assert results == [analyzer.index_tokens(t) for t in texts]


def test_own_tokenizer_quiet_log_and_cache_dir(tmp_path: Path) -> None:
    # In a fresh interpreter: nothing else has touched jieba there.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from retrieval.text import Analyzer, AnalyzerConfig\n"
        "import jieba\n"
        f"a = Analyzer(AnalyzerConfig(Path({str(USERDICT)!r}), Path({str(STOPWORDS)!r}), Path(sys.argv[1])))\n"
        "print(a.index_tokens('GPT-3 深度学习'))\n"
        "print(jieba.dt.initialized)\n"
        "print('pkg_resources' in sys.modules)\n"  # retrieval._jieba: ~0.09 s of start-up, and jieba needs none
    )
    cache_dir = tmp_path / "new" / "cache"
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning:retrieval", "-c", code, str(cache_dir)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    assert done.stdout.splitlines() == ["['gpt-3', 'gpt', 'gpt3', '深度学习', '深度', '学习']", "False", "False"]
    assert "Building prefix dict" not in done.stderr
    assert "Loading model" not in done.stderr
    assert list(cache_dir.glob("jieba-*.cache"))


@pytest.mark.parametrize("damage", [b"", b"not marshal data", b"\xe9\x00\x00\x00"])
def test_dictionary_cache_read_whole_or_rebuilt(tmp_path: Path, damage: bytes) -> None:
    # The first analyzer builds jieba's cache; the second reads it in one piece; a damaged one is rebuilt by jieba.
    text = "自监督学习与对比学习，GPT-3 和 ResNet-50"
    built = Analyzer(_config(tmp_path))
    (cache,) = tmp_path.glob("jieba-*.cache")
    good = cache.read_bytes()
    (split,) = tmp_path.glob("jieba-*.split")
    split.unlink()  # the split dictionary (tested below) is read before jieba's cache
    read = Analyzer(_config(tmp_path))
    split.unlink()
    cache.write_bytes(damage)
    rebuilt = Analyzer(_config(tmp_path))
    assert read.index_tokens(text) == built.index_tokens(text) == rebuilt.index_tokens(text)
    assert read.word_frequency("学习") == built.word_frequency("学习") == rebuilt.word_frequency("学习") > 0
    assert read.fingerprint == built.fingerprint == rebuilt.fingerprint
    assert cache.read_bytes() == good


@pytest.mark.parametrize("damage", ["truncated", "garbage", "flipped", "other jieba"])
def test_split_dictionary_used_only_when_whole_and_current(tmp_path: Path, damage: str) -> None:
    # The first analyzer saves jieba's dictionary split by first character; the second reads it part by part; a
    # damaged, truncated or foreign one is ignored and saved again, and the tokens never change.
    text = "自监督学习与对比学习，GPT-3 和 ResNet-50，他来到了网易杭研大厦"
    built = Analyzer(_config(tmp_path))
    (split,) = tmp_path.glob("jieba-*.split")
    good = split.read_bytes()
    read = Analyzer(_config(tmp_path))
    assert isinstance(read._split, jiebadict.SplitDictionary)
    assert read._tk.FREQ is read._split.freq
    if damage == "truncated":
        split.write_bytes(good[: len(good) // 2])
    elif damage == "garbage":
        split.write_bytes(b"not marshal data")
    elif damage == "flipped":
        split.write_bytes(good[:-100] + bytes([good[-100] ^ 0xFF]) + good[-99:])
    else:
        fmt, _stamp, total, crc, blob = marshal.loads(good)
        split.write_bytes(marshal.dumps((fmt, "jieba=0.0;dict=1:1", total, crc, blob)))
    again = Analyzer(_config(tmp_path))
    assert again._split is None  # the damaged file was not trusted
    assert split.read_bytes() == good  # and was saved again
    bulk = Analyzer(_config(tmp_path))
    bulk.for_bulk()
    assert bulk._split is not None
    assert bulk._split.complete
    tokens = built.index_tokens(text)
    assert read.index_tokens(text) == again.index_tokens(text) == bulk.index_tokens(text) == tokens
    assert read.word_frequency("学习") == built.word_frequency("学习") == bulk.word_frequency("学习") > 0
    assert len(read._tk.FREQ) < len(bulk._tk.FREQ)  # read only the parts its texts needed
    assert bulk._tk.FREQ == again._tk.FREQ == built._tk.FREQ
    assert read._tk.total == again._tk.total == built._tk.total
    assert read._tk.user_word_tag_tab == again._tk.user_word_tag_tab


def test_the_rest_of_the_dictionary_is_read_in_the_background_after_an_answer(tmp_path: Path) -> None:
    text = "自监督学习与对比学习，他来到了网易杭研大厦"
    whole = Analyzer(_config(tmp_path))
    read = Analyzer(_config(tmp_path))
    assert read._split is not None
    first = read.index_tokens(text)
    assert not read._split.complete
    read.load_dictionary_later()
    loader = read._split._loader
    assert loader is not None
    loader.join(timeout=60)
    assert read._split.complete
    assert read._tk.FREQ == whole._tk.FREQ
    assert read.index_tokens(text) == first == whole.index_tokens(text)


# --- the real archive ------------------------------------------------------------------------------


@pytest.mark.corpus
def test_archive_tokenizes_cleanly(analyzer: Analyzer, corpus_dir: Path) -> None:
    files = sorted((corpus_dir / "akira").glob("*.md"))
    assert len(files) >= 40
    vocabulary: set[str] = set()
    for path in files:
        tokens = analyzer.index_tokens(path.read_text(encoding="utf-8"))
        assert tokens, path.name
        vocabulary.update(tokens)
    assert not vocabulary & analyzer.stopwords
    # ML terms the user dictionary must keep whole are really in the archive.
    for term in ["gpt-3", "vit", "cutmix", "自我监督学习", "对比学习", "变压器", "变形金刚", "语义分割"]:
        assert term in vocabulary, term
