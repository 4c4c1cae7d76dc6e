"""The settings schema: config/newsbot.toml agrees with it, every setting is documented, the cache
fingerprint covers every ranking field, and errors name where a bad value came from."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bot.config import Config, config_dir, load_config, sample_archive_dir, sections
from bot.config_reference import reference
from bot.library import search_settings
from retrieval.archive import load_archive
from retrieval.errors import ConfigError
from retrieval.search import SearchEngine
from retrieval.settings import Ranking, SearchOptions, parse, ranking_fingerprint, schema


def _bundled() -> dict[str, Any]:
    with (config_dir() / "newsbot.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_bundled_toml_lists_every_setting_with_the_schema_default() -> None:
    toml = _bundled()
    assert set(toml) == set(sections())
    for name, cls in sections().items():
        fields = schema(cls)
        assert set(toml[name]) == set(fields), f"[{name}]: the TOML and the schema list different keys"
        for key, value in toml[name].items():
            expected = fields[key].default
            got = tuple(value) if isinstance(value, list) else value
            assert got == expected, f"{name}.{key}: newsbot.toml says {value!r}, the schema {expected!r}"
            assert isinstance(got, bool) == isinstance(expected, bool), f"{name}.{key}: 1 is not true"


def test_loading_the_bundled_file_gives_the_schema_defaults() -> None:
    assert load_config(env={}) == Config()


def test_every_setting_has_a_one_line_description() -> None:
    for name, cls in sections().items():
        for key, setting in schema(cls).items():
            description = setting.meta.description or ""
            assert description, f"{name}.{key} has no description"
            assert "\n" not in description, f"{name}.{key}: the description is more than one line"


def test_config_is_immutable() -> None:
    config = load_config(env={})
    with pytest.raises(AttributeError):
        config.search.k1 = 2.0  # type: ignore[misc]


def _another_value(name: str, value: object) -> object:
    if isinstance(value, bool):
        return not value
    assert isinstance(value, float)
    changed = value / 2 if value else 0.5
    assert parse(Ranking, name, changed) == changed  # still in range
    return changed


def test_ranking_fingerprint_changes_with_every_ranking_field() -> None:
    base = Ranking()
    for name in Ranking.__struct_fields__:
        changed = msgspec.structs.replace(base, **{name: _another_value(name, getattr(base, name))})
        assert ranking_fingerprint(changed) != ranking_fingerprint(base), name
    # How the index is built is not part of it: 8 workers rank exactly as 2 do.
    assert ranking_fingerprint(SearchOptions(workers=8)) == ranking_fingerprint(base)


def test_engine_fingerprint_changes_with_every_ranking_field(tmp_path: Path) -> None:
    config = load_config(env={}, storage__cache_dir=str(tmp_path / "cache"))
    engine = SearchEngine.build(load_archive(sample_archive_dir()), search_settings(config))
    seen = {engine.fingerprint}
    for name in Ranking.__struct_fields__:
        settings = msgspec.structs.replace(engine.settings,
                                           **{name: _another_value(name, getattr(engine.settings, name))})
        # The constructor is where the fingerprint is taken; the built index and docs can be reused.
        variant = SearchEngine(engine.archive, settings, engine.analyzer, engine.glossary, engine.cedict,
                               engine._docs, engine._index)
        assert variant.fingerprint not in seen, f"{name} does not change the engine fingerprint"
        seen.add(variant.fingerprint)


@pytest.mark.parametrize(("toml", "env", "message"), [
    ("", {"NEWSBOT_SEARCH_TIE": "2"}, "NEWSBOT_SEARCH_TIE: search.tie: must be between 0 and 1"),
    ("[search]\ncoord = inf\n", {}, "bad.toml: search.coord: must be between 0 and 10"),
    ("[search]\nworkers = 0\n", {}, "bad.toml: search.workers: must be between 1 and 64"),
    ("[search]\ndismax = 'maybe'\n", {}, "bad.toml: search.dismax: 'maybe' is not a valid bool"),
    ("[search]\ntop_k = 10\nmax_top_k = 8\n", {},
     "bad.toml: search.top_k: must be between 1 and search.max_top_k (8)"),
    ("", {"NEWSBOT_DIGEST_POLICY": "soon"}, "NEWSBOT_DIGEST_POLICY: digest.policy: must be one of next, latest"),
    ("", {"NEWSBOT_DIGEST_TIMEZONE": "localtime"},
     "NEWSBOT_DIGEST_TIMEZONE: digest.timezone: 'localtime' is not an IANA area/location name"),
    ("", {"NEWSBOT_DISCORD_API_BASE": "localhost"}, "NEWSBOT_DISCORD_API_BASE: discord.api_base: 'localhost'"),
    ("[cache]\nttl_seconds = 1.5\n", {}, "bad.toml: cache.ttl_seconds: 1.5 is not a valid int"),
])
def test_errors_name_the_origin_and_the_setting(tmp_path: Path, toml: str, env: dict[str, str], message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, env=env)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_the_code_only_settings_reach_the_engine() -> None:
    config = load_config(env={"NEWSBOT_SEARCH_TIE": "0.3", "NEWSBOT_SEARCH_DISMAX": "false",
                              "NEWSBOT_SEARCH_WORKERS": "3"})
    settings = search_settings(config)
    assert (settings.tie, settings.dismax, settings.workers) == (0.3, False, 3)


def test_the_operators_reference_is_the_schema() -> None:
    """docs/operating.md's settings table is drawn from the schema, so a setting, a default or a range cannot be
    documented wrong (bot/config_reference.py says how to regenerate it)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "operating.md").read_text(encoding="utf-8")
    start, end = doc.index("<!-- settings:"), doc.index("<!-- /settings -->")
    table = doc[doc.index("\n", start) + 1:end].strip()
    assert table == reference()


def _numeric_fields(struct: type[msgspec.Struct], prefix: str = "") -> list[tuple[str, Any]]:
    """Every int or float setting under ``struct``, by dotted name, with its msgspec type info."""
    found: list[tuple[str, Any]] = []
    for f in msgspec.inspect.type_info(struct).fields:  # type: ignore[attr-defined]  # a StructType
        t = f.type.type if isinstance(f.type, msgspec.inspect.Metadata) else f.type  # Annotated with Meta
        if isinstance(t, msgspec.inspect.StructType):
            found += _numeric_fields(t.cls, f"{prefix}{f.name}.")
        elif isinstance(t, msgspec.inspect.IntType | msgspec.inspect.FloatType):
            found.append((prefix + f.name, t))
    return found


def test_every_numeric_setting_has_a_floor_and_a_ceiling() -> None:
    fields = _numeric_fields(Config)
    assert {"archive.feed_poll_seconds", "search.k1", "cache.ttl_seconds"} <= dict(fields).keys()
    unbounded = [name for name, t in fields
                 if (t.ge is None and t.gt is None) or (t.le is None and t.lt is None)]
    assert unbounded == []


@pytest.mark.parametrize(("key", "value"), [("archive.feed_max_mb", "1e308"), ("archive.feed_poll_seconds", "1e308"),
                                            ("archive.feed_poll_seconds", "0.001"), ("archive.max_file_mb", "1e308"),
                                            ("cache.ttl_seconds", "99999999999999")])
def test_an_absurd_number_is_refused_with_the_settings_name(tmp_path: Path, key: str, value: str) -> None:
    section, name = key.split(".")
    path = tmp_path / "bad.toml"
    path.write_text(f"[{section}]\n{name} = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"bad.toml: {key}: must be"):
        load_config(path)
