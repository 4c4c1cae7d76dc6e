"""The analyzer's dictionary-free steps: normalizing text, cutting it into CJK runs and word runs, and cutting
a word run into tokens with their sub-words.

:class:`retrieval.text.Analyzer` runs these around jieba (which segments the CJK runs); the glossary, the
character model and the user-dictionary reader use them to spell words as the analyzer does.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Container, Iterable, Iterator
from typing import Any

import opencc

__all__ = ["NORMALIZATION_VERSION", "dedupe", "is_cjk_word", "normalize", "split_runs", "split_word_run"]

# Bump when normalize() changes its output; it is part of Analyzer.fingerprint.
NORMALIZATION_VERSION = 1

# CJK ideographs: Extension A, the URO, compatibility ideographs, and the supplementary planes.
# jieba's own block regex stops at U+9FD5; characters past it come back one per token.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_RUN_RE = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+(?:[-_.][^\W_{_CJK}]+)*)")
_CJK_WORD_RE = re.compile(rf"[{_CJK}]+")
# A dot splits a word run unless it sits between two digits (2106.10860, v1.8, 3.5 stay whole).
_DOT_SPLIT_RE = re.compile(r"(?<!\d)\.|\.(?!\d)")
_HYPHEN_RE = re.compile(r"[-_]")
_VERSION_RE = re.compile(r"([a-z]{2,}?)v?\d+(?:\.\d+)*")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


@functools.cache
def _t2s() -> Any:
    # One converter per process; OpenCC objects are cheap (~0.07 s) but not worth rebuilding.
    return opencc.OpenCC("t2s")


def normalize(text: str) -> str:
    """NFKC (full width -> half width), casefold, then traditional -> simplified.

    >>> normalize("ＶｉＴ 與 變壓器")
    'vit 与 变压器'
    >>> normalize("GPT-3，ＲｅｓＮｅｔ－５０")
    'gpt-3,resnet-50'
    >>> normalize("深度學習")
    '深度学习'
    """
    # Lone surrogates cannot be encoded for OpenCC's C++ side; U+FFFD is dropped later anyway.
    text = _SURROGATE_RE.sub("\ufffd", text)
    text = unicodedata.normalize("NFKC", text).casefold()
    converted: str = _t2s().convert(text)
    return converted


def is_cjk_word(word: str) -> bool:
    """True when ``word`` is made only of CJK ideographs.

    >>> is_cjk_word("对比学习"), is_cjk_word("gpt-3"), is_cjk_word("vit模型")
    (True, False, False)
    """
    return _CJK_WORD_RE.fullmatch(word) is not None


def split_runs(text: str) -> Iterator[tuple[str, bool]]:
    """Yield ``(run, is_cjk)`` for each CJK run and each word run of already normalized text.

    Whitespace, punctuation, symbols, emoji and control characters only separate runs.

    >>> list(split_runs("vit的分类行为比cnn更像人类！"))
    [('vit', False), ('的分类行为比', True), ('cnn', False), ('更像人类', True)]
    >>> list(split_runs("see arxiv 2106.10860 🙂, 16x16 patches"))
    [('see', False), ('arxiv', False), ('2106.10860', False), ('16x16', False), ('patches', False)]
    """
    for match in _RUN_RE.finditer(text):
        yield match.group(), match.lastgroup == "cjk"


def split_word_run(run: str, keep: Container[str] = frozenset()) -> list[tuple[str, tuple[str, ...]]]:
    """Split one non-CJK word run into ``(token, sub_words)`` pairs.

    Runs listed in ``keep`` (the user dictionary) stay whole. A hyphenated run stays whole when a
    part has a digit (a model or version name); otherwise it splits into words. A whole hyphenated
    token's sub-words are its letter parts and its joined spelling.

    >>> split_word_run("gpt-3")
    [('gpt-3', ('gpt', 'gpt3'))]
    >>> split_word_run("self-attention")
    [('self', ()), ('attention', ())]
    >>> split_word_run("mlp-mixer", keep={"mlp-mixer"})
    [('mlp-mixer', ('mlp', 'mixer', 'mlpmixer'))]
    >>> split_word_run("arxiv.org"), split_word_run("2106.10860"), split_word_run("16x16")
    ([('arxiv', ()), ('org', ())], [('2106.10860', ())], [('16x16', ())])
    >>> split_word_run("scaled-yolov4"), split_word_run("yolov4")
    ([('scaled-yolov4', ('scaled', 'yolov4', 'yolo', 'scaledyolov4'))], [('yolov4', ('yolo',))])
    """
    if run in keep:
        return [(run, _word_subwords(run))]
    out: list[tuple[str, tuple[str, ...]]] = []
    for piece in _DOT_SPLIT_RE.split(run):
        if not piece:
            continue
        parts = [p for p in _HYPHEN_RE.split(piece) if p]
        if piece in keep or (len(parts) > 1 and any(ch.isdigit() for ch in piece)):
            out.append((piece, _word_subwords(piece)))
        else:
            out.extend((part, _version_stem(part)) for part in parts)
    return out


def _word_subwords(token: str) -> tuple[str, ...]:
    """Sub-words of a word token: its hyphen parts (with a letter), its joined spelling, and the name inside
    each version-like part, so Scaled-YOLOv4 is found by ``yolov4`` and ``yolo``.

    >>> _word_subwords("scaled-yolov4")
    ('scaled', 'yolov4', 'yolo', 'scaledyolov4')
    >>> _word_subwords("yolov4"), _word_subwords("resnet50"), _word_subwords("16x16"), _word_subwords("bert")
    (('yolo',), ('resnet',), (), ())
    """
    parts = [p for p in _HYPHEN_RE.split(token) if p]
    if len(parts) < 2:
        return _version_stem(token)
    subs: list[str] = []
    for p in parts:
        stem = _version_stem(p)
        if (len(p) > 1 and p.isalpha()) or stem:
            subs.append(p)
            subs.extend(stem)
    joined = "".join(parts)
    if any(ch.isalpha() for ch in joined):
        subs.append(joined)
    return tuple(dedupe(subs))


def _version_stem(word: str) -> tuple[str, ...]:
    # "yolov4" -> "yolo", "gpt3" -> "gpt", "resnet50" -> "resnet": a name of two letters or more, then a version.
    m = _VERSION_RE.fullmatch(word)
    return (m.group(1),) if m else ()


def dedupe(tokens: Iterable[str]) -> list[str]:
    """Drop repeated tokens, keeping the first occurrence's position.

    >>> dedupe(["矩阵", "乘法", "矩阵", "gpt-3", "乘法"])
    ['矩阵', '乘法', 'gpt-3']
    """
    return list(dict.fromkeys(tokens))
