"""Query expansion with the English <-> Chinese glossary, plus an optional dictionary bridge.

The archive is a machine translation, so one English term appears under several Chinese renderings
(``config/glossary.toml``). :meth:`Glossary.expand` turns the query tokens into weighted terms:

* every typed token, weight 1.0, source ``"query"``;
* for each glossary group the query mentions (by any member, English or Chinese, matched over
  consecutive tokens, longest first), every other member at :data:`GLOSSARY_WEIGHT`, source
  ``"glossary"``;
* optionally, for ASCII words the glossary does not know, a :class:`Translator` (in practice
  :class:`retrieval.cedict.Cedict`) supplies Chinese words at its own low weights, source
  ``"cedict"``. The translator is passed per call rather than stored, so the glossary stays a
  pure value and tests can run it without the dictionary.

A member that tokenizes to several tokens shares its weight among them, so a long rendering
does not outweigh a short one. Renderings are tokenized with the same analyzer as the index, but
without sub-words: the index holds each whole word as well as its parts, so the whole word is
enough, and 变形 / 金刚 alone would drag in unrelated text.
"""

from __future__ import annotations

import functools
import hashlib
import json
import marshal
import os
import re
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from retrieval.errors import DataFileError
from retrieval.lexical import is_cjk_word, normalize
from retrieval.settings import Ranking, check, default
from retrieval.text import Analyzer, decode_data_file, read_data_file

__all__ = [
    "GLOSSARY_WEIGHT",
    "SOURCES",
    "TRANSLATOR_MAX_WEIGHT",
    "Glossary",
    "GlossaryGroup",
    "Translator",
    "WeightedTerm",
    "fold_plural",
]

GLOSSARY_WEIGHT: float = default(Ranking, "glossary_weight")
"""Default weight of a glossary rendering (shared among its tokens); typed tokens weigh 1.0."""
TRANSLATOR_MAX_WEIGHT = 0.5
"""A :class:`Translator` promises weights up to this; ``cedict_weight`` rescales that ceiling."""

SOURCES = ("query", "glossary", "cedict")

_ASCII_WORD_RE = re.compile(r"[a-z]{3,}")
_ALLOWED_FIELDS = frozenset({"zh", "en"})


@dataclass(frozen=True)
class WeightedTerm:
    """One query term for BM25: a token, how much it counts, and where it came from."""

    token: str
    weight: float
    source: str  # one of SOURCES: "query" | "glossary" | "cedict"


@dataclass(frozen=True)
class GlossaryGroup:
    """One table of the glossary: the canonical English term and its equivalents."""

    key: str
    en: tuple[str, ...]
    zh: tuple[str, ...]

    @property
    def members(self) -> tuple[str, ...]:
        return (self.key, *self.en, *self.zh)


class Translator(Protocol):
    """Anything that can offer weighted Chinese words for an English word or phrase."""

    def translations(self, english: str) -> list[tuple[str, float]]: ...


def fold_plural(token: str) -> str:
    """Fold an English plural for matching (applied to glossary keys and queries alike).

    >>> [fold_plural(t) for t in ["transformers", "gans", "studies", "patches", "loss", "变压器"]]
    ['transformer', 'gan', 'study', 'patch', 'loss', '变压器']
    """
    if len(token) <= 3 or not (token.isascii() and token.isalpha()):
        return token
    if token.endswith("ies"):
        return token[:-3] + "y"
    if token.endswith(("sses", "ches", "shes", "xes")):
        return token[:-2]
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


@dataclass(frozen=True)
class _Member:
    group: int
    tokens: tuple[str, ...]


class Glossary:
    """The loaded glossary, ready to expand analyzer query tokens."""

    def __init__(
        self,
        groups: Sequence[GlossaryGroup],
        analyzer: Analyzer,
        weight: float = GLOSSARY_WEIGHT,
    ) -> None:
        check(Ranking, "glossary_weight", weight)
        self._groups = tuple(groups)
        self._analyzer = analyzer
        self._weight = weight
        self._members: list[list[_Member]] = []
        self._index: dict[tuple[str, ...], list[int]] = {}
        known = _saved_base_tokens(analyzer, [text for group in self._groups for text in group.members])
        for gid, group in enumerate(self._groups):
            members: list[_Member] = []
            for text in group.members:
                tokens = known[text]
                if not tokens:
                    raise ValueError(f"glossary entry {group.key!r}: {text!r} has no tokens left")
                members.append(_Member(gid, tokens))
                key = tuple(fold_plural(t) for t in tokens)
                gids = self._index.setdefault(key, [])
                if gid not in gids:
                    gids.append(gid)
            self._members.append(members)
        self._longest = max((len(key) for key in self._index), default=1)

    @classmethod
    def load(cls, path: Path, analyzer: Analyzer, weight: float = GLOSSARY_WEIGHT) -> Glossary:
        """Read and validate ``glossary.toml``; a bad entry raises :class:`DataFileError` naming its key."""
        try:
            return cls._load(path, analyzer, weight)
        except DataFileError:
            raise
        except ValueError as exc:  # the validators below say what is wrong; the path says where
            message = str(exc)
            raise DataFileError(message if message.startswith(str(path)) else f"{path}: {message}") from None

    @classmethod
    def _load(cls, path: Path, analyzer: Analyzer, weight: float) -> Glossary:
        text = decode_data_file(read_data_file(path, "glossary"), path, "glossary")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise DataFileError(f"{path}: not valid TOML, so not a glossary ({exc})") from None
        if not data:
            raise DataFileError(f"{path}: not a glossary: it has no entries")
        groups: list[GlossaryGroup] = []
        for key, table in data.items():
            where = f"{path}: glossary entry {key!r}"
            if not isinstance(table, dict):
                raise ValueError(f"{where}: must be a table with 'zh' (and optionally 'en')")
            unknown = set(table) - _ALLOWED_FIELDS
            if unknown:
                raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
            if normalize(key) != key or any(is_cjk_word(ch) for ch in key):
                raise ValueError(f"{where}: the key must be the English term in lower case")
            zh = _string_list(table.get("zh"), f"{where}: 'zh'", required=True)
            en = _string_list(table.get("en", []), f"{where}: 'en'", required=False)
            for text in zh:
                if normalize(text) != text or not any(is_cjk_word(ch) for ch in text):
                    raise ValueError(f"{where}: 'zh' entry {text!r} must be simplified Chinese")
            for text in en:
                if normalize(text) != text:
                    raise ValueError(f"{where}: 'en' entry {text!r} must be lower case")
            members = [key, *en, *zh]
            if len(set(members)) != len(members):
                raise ValueError(f"{where}: an entry is listed twice")
            groups.append(GlossaryGroup(key, tuple(en), tuple(zh)))
        try:
            return cls(groups, analyzer, weight)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    @property
    def groups(self) -> tuple[GlossaryGroup, ...]:
        return self._groups

    def __len__(self) -> int:
        return len(self._groups)

    @functools.cached_property
    def fingerprint(self) -> str:
        """A stable hash of the groups, their tokenization and the default weight."""
        payload = [
            [group.key, list(group.en), list(group.zh), [list(m.tokens) for m in members]]
            for group, members in zip(self._groups, self._members, strict=True)
        ]
        blob = json.dumps([self._weight, payload], ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def matches(self, tokens: Sequence[str]) -> list[GlossaryGroup]:
        """The groups that ``tokens`` mention, in order (longest match first at each position).

        >>> glossary = _doctest_glossary()
        >>> [g.key for g in glossary.matches(["vision", "transformer", "鲁棒性"])]
        ['vision transformer', 'robustness']
        """
        return [self._groups[gid] for gid in self._match(tokens)[0]]

    def expand(
        self,
        tokens: Sequence[str],
        cedict: Translator | None = None,
        *,
        glossary_weight: float | None = None,
        cedict_weight: float = TRANSLATOR_MAX_WEIGHT,
    ) -> list[WeightedTerm]:
        """Weighted terms for BM25: the typed tokens, then glossary (and dictionary) renderings.

        ``tokens`` are :meth:`Analyzer.query_tokens`. ``cedict``, when given, is asked about ASCII
        words that no glossary entry covers (pairs of adjacent words first, then single words).
        ``glossary_weight`` overrides the loaded weight (0 turns the glossary off);
        ``cedict_weight`` is the ceiling for a translation (the translator's own ceiling is 0.5).

        >>> glossary = _doctest_glossary()
        >>> terms = glossary.expand(["clip", "论文"])
        >>> [(t.token, t.weight, t.source) for t in terms]  # doctest: +ELLIPSIS
        [('clip', 1.0, 'query'), ('论文', 1.0, 'query'), ('剪辑', 0.6, 'glossary'), ..., ('报纸', 0.6, 'glossary')]
        >>> [t.token for t in glossary.expand(["self", "attention"]) if t.source == "glossary"][:3]
        ['自我注意', '自我关注', '自注意力']
        """
        weight = self._weight if glossary_weight is None else glossary_weight
        try:
            check(Ranking, "glossary_weight", weight)
            check(Ranking, "cedict_weight", cedict_weight)
        except ValueError as err:
            raise ValueError(f"expansion weights: {err}: typed tokens must outweigh them") from None
        out: dict[str, WeightedTerm] = {t: WeightedTerm(t, 1.0, "query") for t in tokens}

        def offer(token: str, value: float, source: str) -> None:
            current = out.get(token)
            if value > 0 and (current is None or (current.source != "query" and value > current.weight)):
                out[token] = WeightedTerm(token, round(value, 4), source)

        covered = [False] * len(tokens)
        if weight > 0:
            group_ids, covered = self._match(tokens)
            for gid in group_ids:
                for member in self._members[gid]:
                    for token in member.tokens:
                        offer(token, weight / len(member.tokens), "glossary")

        if cedict is not None and cedict_weight > 0:
            scale = cedict_weight / TRANSLATOR_MAX_WEIGHT
            for token, value in self._bridge(tokens, covered, cedict):
                offer(token, min(value * scale, cedict_weight), "cedict")
        return list(out.values())

    def concepts(
        self,
        pairs: Sequence[tuple[str, Sequence[str]]],
        cedict: Translator | None = None,
        *,
        glossary_weight: float | None = None,
        cedict_weight: float = TRANSLATOR_MAX_WEIGHT,
    ) -> list[tuple[str, list[WeightedTerm]]]:
        """The query's concepts: ``(label, terms)`` for each typed word, or run of words one glossary entry or
        one dictionary phrase names ("self attention", "video call").

        ``pairs`` are :meth:`Analyzer.analyze` output, ``(token, sub_words)``. A concept's terms are its typed
        tokens and sub-words (weight 1.0), then its glossary and dictionary renderings, as :meth:`expand` gives
        them for those tokens alone. A repeated concept is listed once.

        >>> glossary = _doctest_glossary()
        >>> [(label, [t.token for t in terms][:3]) for label, terms in glossary.concepts(
        ...     [("self", ()), ("attention", ()), ("鲁棒性", ())])]
        [('self attention', ['self', 'attention', '自我注意']), ('鲁棒性', ['鲁棒性', 'robustness', 'robust'])]
        """
        base = [t for t, _ in pairs]
        folded = [fold_plural(t) for t in base]
        weight = self._weight if glossary_weight is None else glossary_weight
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(base):
            end = i + 1
            if weight > 0:
                for length in range(min(self._longest, len(base) - i), 1, -1):
                    if tuple(folded[i : i + length]) in self._index:
                        end = i + length
                        break
            if (end == i + 1 and cedict is not None and cedict_weight > 0 and i + 1 < len(base)
                    and all(_ASCII_WORD_RE.fullmatch(t) for t in base[i : i + 2])
                    and not self._index.get((folded[i],)) and not self._index.get((folded[i + 1],))
                    and cedict.translations(f"{base[i]} {base[i + 1]}")):
                end = i + 2
            spans.append((i, end))
            i = end
        out: list[tuple[str, list[WeightedTerm]]] = []
        seen: set[str] = set()
        for start, end in spans:
            label = " ".join(base[start:end])
            if label in seen:
                continue
            seen.add(label)
            tokens: list[str] = []
            for token, subs in pairs[start:end]:
                tokens.append(token)
                tokens.extend(subs)
            tokens = list(dict.fromkeys(tokens))
            out.append((label, self.expand(tokens, cedict, glossary_weight=glossary_weight,
                                           cedict_weight=cedict_weight)))
        return out

    def _match(self, tokens: Sequence[str]) -> tuple[list[int], list[bool]]:
        folded = [fold_plural(t) for t in tokens]
        covered = [False] * len(tokens)
        consumed: list[str] = []
        group_ids: list[int] = []
        i = 0
        while i < len(tokens):
            # A sub-word of a token already matched (监督学习 inside 自监督学习) is part of that
            # match, not a second mention.
            if any(tokens[i] != whole and tokens[i] in whole for whole in consumed):
                covered[i] = True
                i += 1
                continue
            for length in range(min(self._longest, len(tokens) - i), 0, -1):
                gids = self._index.get(tuple(folded[i : i + length]))
                if gids:
                    for gid in gids:
                        if gid not in group_ids:
                            group_ids.append(gid)
                    for j in range(i, i + length):
                        covered[j] = True
                        consumed.append(tokens[j])
                    i += length
                    break
            else:
                i += 1
        return group_ids, covered

    def _bridge(self, tokens: Sequence[str], covered: Sequence[bool], cedict: Translator) -> list[tuple[str, float]]:
        # Sub-words (gpt of gpt-3, learn / scikitlearn of scikit-learn) are part of a name, not English.
        parts_of_names = {
            sub for t in tokens if "-" in t or "_" in t for sub in (*re.split(r"[-_]", t), re.sub(r"[-_]", "", t))
        }
        eligible = [
            not covered[i] and _ASCII_WORD_RE.fullmatch(t) is not None and t not in parts_of_names
            for i, t in enumerate(tokens)
        ]
        found: list[tuple[str, float]] = []
        i = 0
        while i < len(tokens):
            if not eligible[i]:
                i += 1
                continue
            pairs: list[tuple[str, float]] = []
            if i + 1 < len(tokens) and eligible[i + 1]:
                pairs = cedict.translations(f"{tokens[i]} {tokens[i + 1]}")
            step = 2 if pairs else 1
            if not pairs:
                pairs = cedict.translations(tokens[i])
            for headword, weight in pairs:
                parts = self._analyzer.base_tokens(headword)
                found.extend((part, weight / len(parts)) for part in parts)
            i += step
        return found


def _string_list(value: object, where: str, *, required: bool) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{where} must be a list of non-empty strings")
    if required and not value:
        raise ValueError(f"{where} must not be empty")
    return [str(v) for v in value]


def _saved_base_tokens(analyzer: Analyzer, texts: list[str]) -> dict[str, tuple[str, ...]]:
    """Each text's :meth:`~retrieval.text.Analyzer.base_tokens`, kept in the cache folder between starts under the
    analyzer's fingerprint (which changes whenever tokens can), so that a start-up runs no jieba for the glossary.
    A missing, damaged or partial file only costs the tokenizing, and is written again."""
    path = analyzer.config.cache_dir / f"glossary-tokens-{analyzer.fingerprint[:16]}.marshal"
    try:
        saved = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        saved = None
    if not isinstance(saved, dict):
        saved = {}
    known: dict[str, tuple[str, ...]] = {}
    for text in texts:
        tokens = saved.get(text)
        if not (isinstance(tokens, tuple) and all(isinstance(t, str) for t in tokens)):
            tokens = tuple(analyzer.base_tokens(text))
        known[text] = tokens
    if known != saved:
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".glossary-tokens-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(marshal.dumps(known))
            os.replace(tmp, path)
        except OSError:
            pass  # a cache folder that cannot be written only costs the tokenizing at the next start
    return known


def _doctest_glossary() -> Glossary:
    # For doctests and the REPL only: the repository's glossary with the doctest analyzer.
    from retrieval.text import _doctest_analyzer

    path = Path(__file__).resolve().parent.parent / "config" / "glossary.toml"
    return Glossary.load(path, _doctest_analyzer())
