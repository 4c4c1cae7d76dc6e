"""``newsbot ingest URL_OR_FILE``: one import, the same code path as the bot's poller, a summary on stdout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.app import build_app
from bot.config import Config, FeedConfig
from bot.errors import FeedParseError, FetchError
from bot.feeds.service import PollOutcome

PICKED_UP = ("a running newsbot with feeds configured answers from these within a minute; without feeds, "
             "/newsbot reindex (or a restart) loads them")


def summary(outcome: PollOutcome) -> str:
    """The human summary of one import.

    >>> print(summary(PollOutcome("u", "u", "ok", added=("feeds/x/a.md",), unchanged=2,
    ...                           skipped=("item 'b' has no link; skipped",))))
    added 1, updated 0, unchanged 2, already in the archive 0, skipped 1
      added     feeds/x/a.md
      skipped   item 'b' has no link; skipped
    """
    lines = [f"added {len(outcome.added)}, updated {len(outcome.updated)}, unchanged {outcome.unchanged}, "
             f"already in the archive {len(outcome.matched)}, skipped {len(outcome.skipped)}"]
    lines += [f"  added     {p}" for p in outcome.added]
    lines += [f"  updated   {p}" for p in outcome.updated]
    lines += [f"  matched   {p}" for p in outcome.matched]
    lines += [f"  skipped   {r}" for r in outcome.skipped]
    return "\n".join(lines)


async def ingest(config: Config, source: str, *, json_mode: bool = False) -> int:
    config.archive_specs[0].resolved.mkdir(parents=True, exist_ok=True)  # the default archive's folder
    # The current archive is loaded, so an item that is already a hand-saved file is matched, not written twice.
    async with build_app(config, "ingest") as app:
        assert app.feeds is not None  # an ingest app always has the feed service
        if source.startswith(("http://", "https://")):
            outcome = await app.feeds.poll_one(FeedConfig(source))
        else:
            path = Path(source).expanduser()
            try:
                outcome = await app.feeds.ingest_file(path)
            except OSError as err:
                print(f"newsbot: cannot read {path}: {err.strerror or err}", file=sys.stderr)
                return 1
            except (FeedParseError, FetchError) as err:
                print(f"newsbot: {path}: {err}", file=sys.stderr)
                return 1
    if json_mode:
        print(json.dumps({"source": source, "status": outcome.status, "added": list(outcome.added),
                          "updated": list(outcome.updated), "unchanged": outcome.unchanged,
                          "matched": list(outcome.matched), "skipped": list(outcome.skipped),
                          "error": outcome.error}, ensure_ascii=False))
    elif outcome.status in ("failed", "disabled"):
        print(f"newsbot: {source}: {outcome.error}", file=sys.stderr)
    elif outcome.status == "not-modified":
        print("not modified since the last import (304): nothing to do")
    else:
        print(summary(outcome))
        if outcome.added or outcome.updated:
            print(PICKED_UP)
    return 1 if outcome.status in ("failed", "disabled") else 0
