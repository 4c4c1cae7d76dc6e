"""The one test clock: a settable "now" that code under test calls instead of reading the time.

It keeps either kind of time the code under test asks for, fixed by the start value:

* an aware :class:`datetime.datetime` (the digest scheduler, the feed service), e.g.
  ``Clock(dt.datetime(2024, 3, 4, 8, tzinfo=dt.UTC))``; a naive start is refused, as the scheduler refuses one;
* float seconds, monotonic style (the query cache's TTL), e.g. ``Clock(1_000_000.0)``.

Tests move it by setting :attr:`now` or with :meth:`advance`.

>>> import datetime as dt
>>> c = Clock(dt.datetime(2021, 3, 1, 9, tzinfo=dt.UTC))
>>> c.advance(90)
>>> c()
datetime.datetime(2021, 3, 1, 9, 1, 30, tzinfo=datetime.timezone.utc)
>>> s = Clock(1_000_000.0)
>>> s.advance(2.5)
>>> s()
1000002.5
>>> Clock(dt.datetime(2021, 3, 1))
Traceback (most recent call last):
    ...
ValueError: a test clock keeps aware datetimes: 2021-03-01 00:00:00 has no tzinfo
"""

from __future__ import annotations

import datetime as dt
from typing import Generic, TypeVar

Instant = TypeVar("Instant", float, dt.datetime)


class Clock(Generic[Instant]):
    """Returns :attr:`now` when called; time passes only when a test moves it."""

    def __init__(self, now: Instant) -> None:
        if isinstance(now, dt.datetime) and now.utcoffset() is None:
            raise ValueError(f"a test clock keeps aware datetimes: {now} has no tzinfo")
        self.now: Instant = now

    def __call__(self) -> Instant:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        if isinstance(self.now, dt.datetime):
            self.now = self.now + dt.timedelta(seconds=seconds)
        else:
            self.now = self.now + seconds

