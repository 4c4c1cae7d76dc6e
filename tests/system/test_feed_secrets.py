"""A feed URL's credentials (user-info, a query token) stay in the config file: a real feed server and the real
poller and console, and not one log line, stats line, JSON answer or feed-retry reply carries them."""

from __future__ import annotations

import io
import json
import logging
import shutil
from pathlib import Path

import msgspec
import pytest
from feed_server import SAMPLE, FeedServer, rss, sample_items

from bot.app import build_app
from bot.config import Config, FeedConfig
from bot.console import run_console_async

pytestmark = pytest.mark.timeout(120)

SECRETS = ("alice-user", "s3cret-pw", "tok-123456", "bob-user", "pw-secret-2", "tok-654321")


async def _console(config: Config, lines: list[str], *, json_mode: bool) -> str:
    out = io.StringIO()
    stdin = io.StringIO("".join(line + "\n" for line in lines))
    assert await run_console_async(config, json_mode=json_mode, stdin=stdin, stdout=out) == 0
    return out.getvalue()


async def test_feed_credentials_never_reach_logs_stats_or_replies(sample_config: Config, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    hand_saved = sorted(SAMPLE.glob("*.md"))[0]
    shutil.copy(hand_saved, archive / hand_saved.name)
    async with FeedServer() as server:
        host = f"127.0.0.1:{server.port}"
        ok_url = f"http://alice-user:s3cret-pw@{host}/ok?token=tok-123456"
        busy_url = f"http://bob-user:pw-secret-2@{host}/busy?token=tok-654321&page=1"
        server.publish("/ok", rss(sample_items()[-1:]))  # not the hand-saved issue: a new file, logged
        server.fail("/busy", "status", status=503, headers={"Retry-After": "3600"})
        feeds = (FeedConfig(ok_url), FeedConfig(busy_url, "busy"))  # the first has no name: its URL is its label
        config = msgspec.structs.replace(sample_config, archive=msgspec.structs.replace(
            sample_config.archive, path=str(archive), feeds=feeds, feed_timeout_seconds=5.0))
        with caplog.at_level(logging.DEBUG):
            async with build_app(config, "ingest") as app:  # what `newsbot run` polls with, without Discord
                assert app.feeds is not None
                report = await app.feeds.poll()
            lines = ["/stats", "/feed-retry", f"/feed-retry {ok_url}", "/feed-retry busy",
                     "/feed-retry http://alice-user:s3cret-pw@elsewhere/x?token=tok-123456"]
            text = await _console(config, lines, json_mode=False)
            answers = [json.loads(line) for line in (await _console(config, lines, json_mode=True)).splitlines()]
        assert len(server.requests("/ok")) == 1  # the credentials did reach the server: they are used, not lost
    assert {o.status for o in report.outcomes} == {"ok", "failed"}
    # The bot's own log lines (the feed server's access log is the test's, not the bot's).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("bot", "retrieval")))
    assert "feed http://***@" in logged
    shown = f"http://***@{host}/ok?token=***"
    stats, retried_all, retried_raw, retried_name, unknown = answers
    assert {f["name"] for f in stats["feeds"]} == {shown, "busy"}
    assert {f["url"] for f in stats["feeds"]} == {shown, f"http://***@{host}/busy?token=***&page=***"}
    assert "error" not in retried_all
    assert "error" not in retried_raw  # the operator may still name a feed by its raw URL
    assert "error" not in retried_name
    assert "http://***@elsewhere/x?token=***" in unknown["error"]
    assert shown in text
    for where, output in (("log", logged), ("console text", text), ("console JSON", json.dumps(answers))):
        for secret in SECRETS:
            assert secret not in output, f"{secret} in the {where}"
