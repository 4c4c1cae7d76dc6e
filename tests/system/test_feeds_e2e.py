"""``newsbot run`` against the fake Discord and a real feed server: a new issue in the feed becomes searchable
through /ask after one poll, and at the next slot the ``latest`` guild gets exactly one digest that pings only
the digest role and opens a thread; a restart between the poll and the post changes nothing.

The scenario lives in tests/support/feed_scenario.py, which also prints it for the report. It waits for a real
minute boundary (the slot), so it takes one to two minutes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_discord import DIGEST_ROLE_ID
from feed_scenario import W13, run_scenario

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


async def test_feed_issue_is_searchable_then_announced_once_with_role_and_thread(tmp_path: Path,
                                                                                 shared_cache_dir: Path) -> None:
    r = await run_scenario(tmp_path / "run", shared_cache_dir)
    # Conditional GET: the first request has no validators; every later one sends both; the unchanged feed is
    # a 304, the changed one a 200; the restarted bot keeps the validators (its first request is a 304).
    first, *rest = r.feed_log
    assert first == "GET /akira.rss -> 200"
    assert all("If-None-Match:" in line and "If-Modified-Since:" in line for line in rest)
    statuses = [line.split(" -> ")[1][:3] for line in r.feed_log]
    assert statuses.count("200") == 2
    assert statuses.count("304") >= 3
    assert statuses[r.restart_at] == "304"
    assert "200" not in statuses[r.restart_at:]
    # Searchable right after the poll that found it, without a restart or /reindex.
    assert "2021-W13" not in r.ask_before
    top = "**1.** [用移位窗口计算自我注意的分层变压器](https://arxiv.org/abs/2103.14030)"
    assert r.ask_after.splitlines()[1].startswith(top)
    assert "[2021-W13]" in r.ask_after
    # One file for the new issue, none for the two the archive already had.
    [fed] = [f for f in r.archive_files if f.startswith("feeds/")]
    assert fed.endswith(f"/{W13}.md")
    assert len(r.archive_files) == 3
    # Exactly one digest, pinging the digest role and nothing else, with a thread named after the issue.
    [digest] = r.digests
    assert digest["content"] == f"<@&{DIGEST_ROLE_ID}>"
    assert digest["mention_roles"] == [str(DIGEST_ROLE_ID)]
    assert digest["mentions"] == []
    assert digest["mention_everyone"] is False
    assert digest["embeds"][0]["title"] == "Akira 的机器学习新闻—2021 年第 13 周"
    [thread] = r.threads
    assert thread["id"] == digest["id"]
    assert thread["name"] == "Akira 的机器学习新闻—2021 年第 13 周"
    assert "opens a thread" in r.setup_replies[-1]
    for log in r.bot_logs:
        assert "Traceback" not in log
