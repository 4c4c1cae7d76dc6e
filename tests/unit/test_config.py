"""The configuration loader: defaults, file and environment overrides, and errors that name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import config_dir, load_config, sample_archive_dir
from retrieval.errors import ConfigError


def test_bundled_defaults_load_and_point_at_bundled_files() -> None:
    config = load_config(env={})
    assert config.archive.resolved == sample_archive_dir()
    for name in ("userdict", "stopwords", "glossary"):
        assert config.search.file(name).parent == config_dir()
        assert config.search.file(name).is_file()
    assert config.discord.guild_ids == ()


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[search]\ntop_k = 7\n[discord]\nguild_ids = [1, 2]\n[digest]\ntimezone = "Asia/Tokyo"\n',
                    encoding="utf-8")
    config = load_config(path, env={"NEWSBOT_SEARCH_TOP_K": "9", "NEWSBOT_DISCORD_GUILD_IDS": "3,4",
                                    "NEWSBOT_ARCHIVE": "/tmp/a"}, archive__path="/tmp/b")
    assert config.search.top_k == 9
    assert config.discord.guild_ids == (3, 4)
    assert config.digest.timezone == "Asia/Tokyo"
    assert config.archive.path == "/tmp/b"


@pytest.mark.parametrize(("toml", "env", "message"), [
    ("[search]\ntopk = 3\n", {}, "unknown key 'search.topk'"),
    ("[serch]\ntop_k = 3\n", {}, "unknown section [serch]"),
    ("[search]\ntop_k = 'many'\n", {}, "search.top_k: 'many' is not a valid int"),
    ("[search]\ntop_k = 99\n", {}, "search.top_k: must be between 1"),
    ("[digest]\nweekday = 'someday'\n", {}, "digest.weekday: must be one of"),
    ("[digest]\ntimezone = 'Mars/Olympus'\n", {}, "unknown IANA time zone 'Mars/Olympus'"),
    ("[digest]\ntime = '9am'\n", {}, "time of day must be HH:MM"),
    ("not toml = = =", {}, "not valid TOML"),
    ("", {"NEWSBOT_SEARCH_B": "lots"}, "NEWSBOT_SEARCH_B: search.b: 'lots' is not a valid float"),
    ("", {"NEWSBOT_NOPE": "1"}, "NEWSBOT_NOPE: expected NEWSBOT_<SECTION>_<KEY>"),
    # 1 passed this check once, and then every query failed inside Glossary.expand
    ("[search]\nglossary_weight = 1.0\n", {}, "search.glossary_weight: must be at least 0 and below 1"),
    ("", {"NEWSBOT_SEARCH_CEDICT_WEIGHT": "1"}, "search.cedict_weight: must be at least 0 and below 1"),
])
def test_bad_configuration_names_the_problem(tmp_path: Path, toml: str, env: dict[str, str], message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, env=env)
    assert message in str(err.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", env={})


def test_the_token_is_not_configuration(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[discord]\ntoken = "abc"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key 'discord\.token'"):
        load_config(path, env={})
