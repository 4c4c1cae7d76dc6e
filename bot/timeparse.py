"""What a person writes for a time of day or a time zone, read strictly: the digest's settings in the config file
and in ``/newsbot digest-schedule`` go through these."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.i18n import N_
from retrieval.errors import ConfigError

_TIME_OF_DAY = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def parse_time_of_day(text: str) -> dt.time:
    """``HH:MM`` in 24-hour form, ASCII digits only (``int()`` would also take ``-0``, ``1_0`` and ``٠٩``).

    >>> parse_time_of_day("09:30")
    datetime.time(9, 30)
    >>> parse_time_of_day("25:00")
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: time of day must be HH:MM (24-hour), got '25:00'
    >>> parse_time_of_day("٠٩:٣٠")
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: time of day must be HH:MM (24-hour), got '٠٩:٣٠'
    """
    m = _TIME_OF_DAY.fullmatch(text.strip())
    try:
        if m is None:
            raise ValueError(text)
        return dt.time(int(m.group(1)), int(m.group(2)))
    except ValueError:
        raise ConfigError(N_("time of day must be HH:MM (24-hour), got {value}"), value=repr(text)) from None


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA time zone.

    >>> parse_timezone("Europe/Berlin").key
    'Europe/Berlin'
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a folder, a long name too long
        raise ConfigError(N_("unknown IANA time zone {name} (try e.g. Europe/Berlin or Asia/Tokyo)"),
                          name=repr(name)) from None


def parse_new_timezone(name: str) -> ZoneInfo:
    """A time zone as a person may set it: an IANA area/location name, or ``UTC``. The tz database also holds
    names no one should pick: ``localtime`` (whatever the host is set to), ``Factory``, the ``posix/`` and
    ``right/`` copies (``right/`` counts leap seconds) and old bare names such as ``EST5EDT``. A value saved
    before this rule still parses with :func:`parse_timezone`.

    >>> parse_new_timezone("America/Los_Angeles").key, parse_new_timezone("UTC").key
    ('America/Los_Angeles', 'UTC')
    >>> parse_new_timezone("EST5EDT")
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: 'EST5EDT' is not an IANA area/location name (try e.g. America/New_York or UTC)
    >>> parse_new_timezone("right/Asia/Tokyo")
    Traceback (most recent call last):
    ...
    retrieval.errors.ConfigError: 'right/Asia/Tokyo' is not an IANA area/location name (try e.g. Asia/Tokyo or UTC)
    """
    copy = name.startswith(("posix/", "right/"))
    if name != "UTC" and ("/" not in name or copy):
        rest = name.split("/", 1)[1] if copy else ""
        example = rest if "/" in rest else "America/New_York"
        raise ConfigError(N_("{name} is not an IANA area/location name (try e.g. {example} or UTC)"),
                          name=repr(name), example=example)
    return parse_timezone(name)
