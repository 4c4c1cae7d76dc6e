"""What a user installs is what we test: the built wheel, installed non-editable in a fresh venv, run from
a folder outside the repository (so nothing can be imported from the checkout).

The wheel is built from a copy of the source tree (tracked and untracked-but-not-ignored files), so a new
module or data file that is missing from the wheel fails here, before a user finds out.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from fake_discord import GUILD_ID, FakeDiscord

REPO = Path(__file__).resolve().parents[2]
PACKAGED = {"bot": "bot", "retrieval": "retrieval", "config": "newsbot_config"}
"""Source folder -> the import package it is installed as."""

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    outside: Path
    """A working directory that is not the repository and holds nothing of it."""
    env: dict[str, str]

    def newsbot(self, *args: str, stdin: str = "", timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.venv / "bin" / "newsbot"), *args], input=stdin, capture_output=True,
                              text=True, cwd=self.outside, env=self.env, timeout=timeout, check=False)


def _source_files() -> list[str]:
    """Files of the source tree git knows or would add: tracked plus untracked-but-not-ignored."""
    listing = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                             capture_output=True, check=True).stdout.decode()
    return sorted(p for p in listing.split("\0") if p and (REPO / p).is_file())


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, shared_cache_dir: Path) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    for rel in _source_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, src / rel)
    dist = root / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist),
                    str(src)], check=True, timeout=600)
    [wheel] = dist.glob("newsbot-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)], check=True,
                   timeout=900)
    outside = root / "outside"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "DISCORD_TOKEN"} and not k.startswith("NEWSBOT_")}
    env |= {"HOME": str(outside), "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "NEWSBOT_STORAGE_CACHE_DIR": str(shared_cache_dir), "NEWSBOT_DB": str(outside / "state.sqlite3")}
    return Installed(wheel, venv, outside, env)


def test_the_wheel_ships_every_source_file(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as zf:
        names = set(zf.namelist())
    expected = set()
    for rel in _source_files():
        top, _, rest = rel.partition("/")
        if top in PACKAGED and rest and "__pycache__" not in rel and not rel.endswith(".c"):
            expected.add(f"{PACKAGED[top]}/{rest}")
    assert "bot/discord_adapter/launcher.py" in expected
    assert sorted(expected - names) == []
    # C sources ship compiled: the scoring kernel is an extension module in the wheel.
    assert [n for n in names if n.startswith("retrieval/_bm25kernel.") and n.endswith(".so")]


def test_installed_version_and_imports_come_from_the_venv(installed: Installed) -> None:
    with (REPO / "pyproject.toml").open("rb") as fh:
        version = tomllib.load(fh)["project"]["version"]
    done = installed.newsbot("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"newsbot {version}"
    probe = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c",
         "import bot.discord_adapter.launcher as m, newsbot_config, retrieval; print(m.__file__)"],
        capture_output=True, text=True, cwd=installed.outside, env=installed.env, check=False)
    assert probe.returncode == 0, probe.stderr
    assert Path(probe.stdout.strip()).is_relative_to(installed.venv)


def test_installed_console_answers_on_the_bundled_sample(installed: Installed) -> None:
    done = installed.newsbot("console", "--json", stdin="/ask 哪一期讲了不用乘法的矩阵乘积？\n/stats\n")
    assert done.returncode == 0, done.stderr
    ask, stats = (json.loads(line) for line in done.stdout.splitlines())
    assert ask["results"][0]["url"] == "https://arxiv.org/abs/2106.10860"
    assert stats["issues"] == 8


def test_installed_eval_runs_with_its_shipped_questions(installed: Installed) -> None:
    done = installed.newsbot("eval", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) >= {"held-out", "dev"}
    assert report["dev"]["newsbot"]["all"]["n"] > 0
    assert "Traceback" not in done.stderr


def test_installed_bench_times_a_cold_start_from_outside_the_repository(installed: Installed) -> None:
    # The console it starts must be the installed one, and without --archive (no ../shared here) it falls back
    # to the bundled sample. The stress part runs on the sample too, tiny, to keep this cheap.
    sample = subprocess.run([str(installed.venv / "bin" / "python"), "-c",
                             "from bot.config import sample_archive_dir; print(sample_archive_dir())"],
                            capture_output=True, text=True, cwd=installed.outside, env=installed.env,
                            check=True).stdout.strip()
    done = installed.newsbot("bench", "--json", "--stress", sample,
                             "--sizes", "20", "--queries", "3", "--cold-start-runs", "1")
    assert done.returncode == 0, done.stderr
    cold = json.loads(done.stdout)["cold_start"]
    assert Path(cold["archive"]).is_relative_to(installed.venv)
    assert len(cold["warm_s"]) == 1
    assert cold["warm_median_s"] > 0
    assert cold["empty_cache_s"] > 0
    assert cold["bare_median_s"] > 0


async def test_installed_run_answers_an_ask_on_the_fake_discord(installed: Installed, fake: FakeDiscord) -> None:
    env = installed.env | {"DISCORD_TOKEN": fake.token, "NEWSBOT_API_BASE": fake.api_base,
                           "NEWSBOT_GATEWAY_URL": fake.gateway_url, "NEWSBOT_DISCORD_GUILD_IDS": str(GUILD_ID)}
    proc = await asyncio.create_subprocess_exec(
        str(installed.venv / "bin" / "newsbot"), "run", env=env, cwd=installed.outside,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert proc.stdout is not None
    reader = asyncio.create_task(proc.stdout.read())
    try:
        await fake.wait_until(lambda: GUILD_ID in fake.commands or proc.returncode is not None, timeout=120,
                              what="guild command sync")
        assert proc.returncode is None, "newsbot run exited before syncing its commands"
        await fake.wait_for_session(timeout=60)
        await asyncio.sleep(2.5)  # discord.py waits guild_ready_timeout (2 s) before it is ready
        handle = await fake.interact("ask", {"question": "CutMix 数据增强"})
        await handle.response(timeout=10)
        [answer] = await handle.followups(1, timeout=10)
        assert "https://arxiv.org/abs/1905.04899" in str(answer.data)
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), timeout=60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        log = (await reader).decode("utf-8", "replace")
    assert code == 0, log
    assert "Traceback" not in log
