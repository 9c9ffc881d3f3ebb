"""Camunda date text (contract section 3).

Output is always Camunda's default pattern ``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` in UTC. Input is
that pattern plus Baton's leniencies: ``+HH:MM`` or ``Z`` offsets, no offset (UTC), no or up to
six fractional digits, and a space where a query string turned an unencoded ``+`` into one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# ASCII classes on purpose: \d would also accept other scripts' digits.
_DATE_RE = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})T(?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]{1,6}))?"
    r"(?P<offset>Z|(?P<sign>[+\- ])(?P<hours>[0-9]{2}):?(?P<minutes>[0-9]{2}))?"
)


def format_date(dt: datetime | None) -> str | None:
    """``2024-05-01T12:30:00.000+0000``; naive datetimes are taken as UTC; None stays None.

    Milliseconds are truncated, not rounded, like Java's ``Date`` (which has no finer unit).
    """
    if dt is None:
        return None
    if dt.tzinfo is not None and dt.tzinfo.utcoffset(dt) is not None:
        dt = dt.astimezone(UTC)
    # Formatted by hand: strftime("%Y") does not zero-pad years below 1000 on glibc.
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
        f".{dt.microsecond // 1000:03d}+0000"
    )


def parse_date(text: str) -> datetime:
    """Parse any accepted input form to an aware UTC datetime; ValueError if it is none of them.

    A space in the sign position counts as ``+`` (section 3, query strings). It is accepted in
    JSON bodies too: nothing else could be meant by it.
    """
    if not isinstance(text, str):
        raise ValueError(f"not a date string: {text!r}")
    match = _DATE_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"not a valid date: {text!r}")
    fraction = (match["fraction"] or "").ljust(6, "0")
    try:
        naive = datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}")
        tz = UTC
        if match["hours"] is not None:
            hours, minutes = int(match["hours"]), int(match["minutes"])
            if minutes >= 60:
                raise ValueError(f"invalid offset in {text!r}")
            delta = timedelta(hours=hours, minutes=minutes)
            tz = timezone(-delta if match["sign"] == "-" else delta)  # ValueError if >= 24h
        return naive.replace(tzinfo=tz).astimezone(UTC)
    except OverflowError as exc:  # e.g. 9999-12-31T23:00:00-0200 is past datetime.max in UTC
        raise ValueError(f"date out of range: {text!r}") from exc
