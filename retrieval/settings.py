"""The search settings, declared once: each knob's type, default, range and meaning.

:class:`Ranking` holds everything that shapes the ranking (and so the engine's cache fingerprint),
:class:`SearchOptions` adds how the index is built, and :class:`SearchSettings` is what the engine takes.
``bot.config`` composes :class:`SearchOptions` into the ``[search]`` section of ``config/newsbot.toml``;
``newsbot eval --set``, :class:`~retrieval.bm25.BM25Index` and :class:`~retrieval.glossary.Glossary`
check values against the same ranges through :func:`check` and :func:`parse`.

The schema is msgspec ``Struct`` classes with ``Annotated[..., Meta(...)]`` fields: they import in
a few milliseconds (pydantic-settings costs a large share of the cold-start budget) and leave the
error messages to us, so they can name where a bad value came from.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple, get_args, get_origin, get_type_hints

import msgspec
from msgspec import Meta

if TYPE_CHECKING:
    from retrieval.text import AnalyzerConfig

__all__ = ["OutOfRange", "Ranking", "SearchOptions", "SearchSettings", "Setting", "WrongType", "allowed", "check",
           "default", "integer", "parse", "ranking_fingerprint", "schema"]


class Ranking(msgspec.Struct, frozen=True, kw_only=True):
    """Everything that shapes the ranking. Every field is part of the engine's cache fingerprint."""

    k1: Annotated[float, Meta(ge=0, le=10, description="BM25Plus term-frequency saturation")] = 1.5
    b: Annotated[float, Meta(ge=0, le=1, description="BM25Plus length normalization")] = 0.75
    delta: Annotated[float, Meta(ge=0, le=10, description="BM25Plus lower bound")] = 1.0
    # Below 1: a rendering must weigh less than what was typed (Glossary.expand refuses 1).
    glossary_weight: Annotated[float, Meta(
        ge=0, lt=1, description="weight of glossary renderings relative to typed terms (1.0)")] = 0.6
    cedict_weight: Annotated[float, Meta(
        ge=0, lt=1, description="total weight budget of CC-CEDICT translations of an English term")] = 0.5
    use_glossary: Annotated[bool, Meta(description="expand queries with the glossary")] = True
    use_cedict: Annotated[bool, Meta(description="translate English terms with CC-CEDICT")] = True
    cedict_in_vocabulary: Annotated[bool, Meta(
        description="keep only CC-CEDICT translations the index contains before taking the top few")] = True
    dismax: Annotated[bool, Meta(
        description="score each query concept once (best term + tie x the rest), not a sum of every term")] = True
    tie: Annotated[float, Meta(
        ge=0, le=1, description="DisMax tie-break: a concept scores its best term plus this share of the rest")] = 0.2
    coord: Annotated[float, Meta(
        ge=0, le=10,
        description="scale scores by (share of the query's concepts matched) ** coord; 0 = plain sums")] = 0.0
    bridge_floor: Annotated[float, Meta(
        ge=0, le=1, description="a concept with no typed term in the index: its best rendering is scaled up "
                                "to weigh this")] = 0.5
    english_stemming: Annotated[bool, Meta(
        description="also index and search each English word's Snowball stem (patches finds patch); always on "
                    "for an archive whose profile's language is en")] = False


class SearchOptions(Ranking, frozen=True, kw_only=True):
    """The configurable knobs the engine reads: the ranking, plus how the index is built."""

    workers: Annotated[int, Meta(ge=1, le=64, description="processes that tokenize a large archive")] = 2


class SearchSettings(SearchOptions, frozen=True, kw_only=True):
    """Everything that shapes the index and the ranking: the options plus the files they use."""

    analyzer: AnalyzerConfig
    glossary_path: Path

    def analyzer_config(self) -> AnalyzerConfig:
        """:attr:`analyzer` with the ranking's analyzer settings applied (they are declared here, once)."""
        return replace(self.analyzer, english_stemming=self.english_stemming)


def ranking_fingerprint(settings: Ranking) -> str:
    """Every :class:`Ranking` field as JSON, for the cache fingerprint; a new field cannot be left out.

    Fields a subclass adds (workers, paths) are not included: they do not change an answer.

    >>> ranking_fingerprint(Ranking(k1=1.2))[:30]
    '{"k1":1.2,"b":0.75,"delta":1.0'
    >>> ranking_fingerprint(SearchOptions(workers=8)) == ranking_fingerprint(Ranking())
    True
    """
    return msgspec.json.encode({name: getattr(settings, name) for name in Ranking.__struct_fields__}).decode()


class Setting(NamedTuple):
    """One field of a schema ``Struct``: its plain type, constraints and default."""

    name: str
    type: Any
    meta: Meta
    default: Any


@cache
def schema(cls: type[msgspec.Struct]) -> dict[str, Setting]:
    """The fields of a settings ``Struct`` by name.

    >>> schema(Ranking)["tie"].meta.le, schema(Ranking)["tie"].default
    (1, 0.2)
    """
    hints = get_type_hints(cls, include_extras=True)
    out = {}
    for info in msgspec.structs.fields(cls):
        kind, meta = hints[info.name], Meta()
        if get_origin(kind) is Annotated:
            kind, meta = get_args(kind)[0], next((m for m in get_args(kind)[1:] if isinstance(m, Meta)), meta)
        default = info.default_factory() if info.default is msgspec.NODEFAULT else info.default
        out[info.name] = Setting(info.name, kind, meta, default)
    return out


def default(cls: type[msgspec.Struct], name: str) -> Any:
    """A setting's declared default.

    >>> default(Ranking, "glossary_weight")
    0.6
    """
    return schema(cls)[name].default


class WrongType(ValueError):
    """A value that is not of the setting's type; ``kind`` names the type."""

    def __init__(self, value: object, kind: str) -> None:
        super().__init__(f"{value!r} is not a valid {kind}")
        self.kind = kind


class OutOfRange(ValueError):
    """A value of the right type outside the setting's range; the message says what is allowed."""


def allowed(meta: Meta, number: bool = True) -> str:
    """What a range admits, in words. Unbounded above means finite too: inf passes any lower bound.

    >>> allowed(Meta(ge=0, lt=1)), allowed(Meta(ge=0, le=1)), allowed(Meta(ge=0)), allowed(Meta(gt=0))
    ('at least 0 and below 1', 'between 0 and 1', 'finite and at least 0', 'finite and above 0')
    """
    low = f"at least {meta.ge:g}" if meta.ge is not None else f"above {meta.gt:g}" if meta.gt is not None else ""
    if meta.le is not None and meta.ge is not None:
        return f"between {meta.ge:g} and {meta.le:g}"
    high = f"at most {meta.le:g}" if meta.le is not None else f"below {meta.lt:g}" if meta.lt is not None else ""
    if not high:
        return " and ".join(filter(None, ["finite" if number else "", low]))
    return " and ".join(filter(None, [low, high]))


def _in_range(value: float, meta: Meta) -> bool:
    # NaN fails every comparison, so it is refused here too.
    return ((meta.ge is None or value >= meta.ge) and (meta.gt is None or value > meta.gt)
            and (meta.le is None or value <= meta.le) and (meta.lt is None or value < meta.lt)
            and math.isfinite(value))


def check(cls: type[msgspec.Struct], name: str, value: float) -> None:
    """Raise :class:`OutOfRange` (``"tie must be between 0 and 1"``) unless ``value`` is in ``name``'s range.

    >>> check(Ranking, "tie", 0.5)
    >>> check(Ranking, "k1", math.inf)
    Traceback (most recent call last):
    ...
    retrieval.settings.OutOfRange: k1 must be between 0 and 10
    """
    meta = schema(cls)[name].meta
    if not _in_range(value, meta):
        raise OutOfRange(f"{name} must be {allowed(meta)}")


_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


def parse(cls: type[msgspec.Struct], name: str, value: object) -> Any:
    """``value`` (from TOML, or text from the environment or the command line) as setting ``name``.

    Raises :class:`WrongType` or :class:`OutOfRange`; neither message names the setting or the origin,
    which the caller knows.

    >>> parse(Ranking, "k1", "1.2"), parse(Ranking, "dismax", "off"), parse(SearchOptions, "workers", 4)
    (1.2, False, 4)
    >>> parse(SearchOptions, "workers", 1.5)
    Traceback (most recent call last):
    ...
    retrieval.settings.WrongType: 1.5 is not a valid int
    >>> parse(Ranking, "glossary_weight", 1)
    Traceback (most recent call last):
    ...
    retrieval.settings.OutOfRange: must be at least 0 and below 1
    """
    setting = schema(cls)[name]
    kind = setting.type
    if get_origin(kind) is Literal:
        if value not in get_args(kind):
            raise OutOfRange(f"must be one of {', '.join(get_args(kind))}")
        return value
    converted = _convert(value, kind)
    if kind in (int, float) and not _in_range(converted, setting.meta):
        raise OutOfRange(f"must be {allowed(setting.meta, number=kind is float)}")
    return converted


def _convert(value: object, kind: Any) -> Any:
    if kind is bool:
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if not isinstance(value, bool):
            raise WrongType(value, "bool")
        return value
    if kind is int:
        return integer(value)
    if kind is float:
        try:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError(value)
            return float(value)
        except ValueError:
            raise WrongType(value, "float") from None
    if kind is str and isinstance(value, str):
        return value
    raise WrongType(value, getattr(kind, "__name__", str(kind)))


def integer(value: object) -> int:
    """A whole number from TOML or text; never a float (``1.5`` must not become ``1``) nor a bool.

    >>> integer("42"), integer(7)
    (42, 7)
    >>> integer(1.5)
    Traceback (most recent call last):
    ...
    retrieval.settings.WrongType: 1.5 is not a valid int
    """
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?[0-9]+", text):  # int() also takes "1_0" and non-ASCII digits
            return int(text)
    elif isinstance(value, int) and not isinstance(value, bool):
        return value
    raise WrongType(value, "int")
