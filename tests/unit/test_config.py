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


# -- several archives: [[archives]] ---------------------------------------------------------------------

def test_one_archive_is_the_default_without_configuration() -> None:
    config = load_config(env={})
    [only] = config.archive_specs
    assert (only.name, only.resolved, only.feeds, only.profile) == ("default", sample_archive_dir(), (), "")
    assert config.archives == ()


def test_archive_section_alone_is_one_archive_named_default(tmp_path: Path) -> None:
    path = tmp_path / "one.toml"
    path.write_text('[archive]\npath = "/srv/news"\nfeeds = [{url = "https://x.example/feed", name = "x"}]\n',
                    encoding="utf-8")
    [only] = load_config(path, env={}).archive_specs
    assert (only.name, only.path, [f.name for f in only.feeds]) == ("default", "/srv/news", ["x"])


def test_archives_list_each_archive_with_its_feeds_and_profile(tmp_path: Path) -> None:
    path = tmp_path / "two.toml"
    path.write_text('[archive]\nmax_file_mb = 2\n\n[[archives]]\nname = "akira"\n\n[[archives]]\nname = "twir"\n'
                    'path = "/srv/twir"\nprofile = "this-week-in-rust"\n\n[[archives.feeds]]\n'
                    'url = "https://twir.example/rss.xml"\nname = "twir"\n', encoding="utf-8")
    config = load_config(path, env={})
    akira, twir = config.archive_specs
    assert (akira.name, akira.resolved, akira.feeds) == ("akira", sample_archive_dir(), ())
    assert (twir.name, twir.path, twir.profile) == ("twir", "/srv/twir", "this-week-in-rust")
    assert [f.url for f in twir.feeds] == ["https://twir.example/rss.xml"]
    assert config.archive.max_file_mb == 2  # [archive]'s limits stay, for every archive


@pytest.mark.parametrize(("toml", "env", "message"), [
    ('[archive]\npath = "/srv/a"\n[[archives]]\nname = "a"\n', {},
     "bad.toml: archive.path: [[archives]] lists this deployment's archives; move this folder into an [[archives]] "
     "entry"),
    ('[[archives]]\nname = "a"\n', {"NEWSBOT_ARCHIVE": "/srv/x"},
     "NEWSBOT_ARCHIVE: archive.path: [[archives]] lists this deployment's archives"),
    ('[archive]\nfeeds = ["https://x.example/f"]\n[[archives]]\nname = "a"\npath = "/srv/a"\n', {},
     "bad.toml: archive.feeds: [[archives]] lists this deployment's archives"),
    ('[[archives]]\npath = "/srv/a"\n', {}, "bad.toml: archives[0].name: missing"),
    ('[[archives]]\nname = "Rust News"\n', {}, "bad.toml: archives[0].name: 'Rust News' is not a name like"),
    ('[[archives]]\nname = "a"\n[[archives]]\nname = "a"\npath = "/srv/a"\n', {},
     "bad.toml: archives[1].name: 'a' is taken by archives[0] (names are unique)"),
    ('[[archives]]\nname = "a"\npath = "/srv/x"\n[[archives]]\nname = "b"\npath = "/srv/x"\n', {},
     "bad.toml: archives[1].path: the folder of archives[0] (a)"),
    ('[[archives]]\nname = "a"\nfeeds = ["https://x.example/f"]\n', {},
     "bad.toml: archives[0].feeds: feed items are written into the archive folder; set its path"),
    ('[[archives]]\nname = "a"\npath = "/srv/a"\nfeeds = ["https://x.example/f"]\n'
     '[[archives]]\nname = "b"\npath = "/srv/b"\nfeeds = ["https://x.example/f"]\n', {},
     "bad.toml: archives[1].feeds: a feed of archives[0] (a) too"),
    ('[[archives]]\nname = "a"\ncolour = "blue"\n', {}, "bad.toml: archives[0]: unknown key 'colour'"),
    ('[[archives]]\nname = "a"\nprofile = 3\n', {}, "bad.toml: archives[0].profile: 3 is not text"),
    ('archives = "a"\n', {}, "bad.toml: archives: write [[archives]] tables"),
    ('[[archives]]\nname = "a"\nfeeds = [{url = "ftp://x"}]\n', {}, "bad.toml: archives[0].feeds: feed url"),
])
def test_bad_archives_name_the_file_and_the_key(tmp_path: Path, toml: str, env: dict[str, str],
                                                message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, env=env)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
