"""Camunda date text: output pattern and every accepted input form (contract section 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl

import pytest

from app.api.camunda.dates import format_date, parse_date


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- output --------------------------------------------------------------------------------


def test_format_none_is_none() -> None:
    assert format_date(None) is None


def test_format_utc_always_has_millis_and_plus_0000() -> None:
    assert format_date(utc(2024, 5, 1, 12, 30)) == "2024-05-01T12:30:00.000+0000"


def test_format_converts_other_offsets_to_utc() -> None:
    dt = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    assert format_date(dt) == "2024-05-01T12:30:00.000+0000"


def test_format_naive_is_read_as_utc() -> None:
    assert format_date(datetime(2024, 5, 1, 12, 30, 1)) == "2024-05-01T12:30:01.000+0000"


def test_format_truncates_microseconds_to_millis() -> None:
    assert format_date(utc(2024, 5, 1, 12, 30, 0, 999999)) == "2024-05-01T12:30:00.999+0000"
    assert format_date(utc(2024, 5, 1, 12, 30, 0, 1500)) == "2024-05-01T12:30:00.001+0000"


def test_format_zero_pads_small_years() -> None:
    assert format_date(utc(7, 1, 2, 3, 4, 5)) == "0007-01-02T03:04:05.000+0000"


def test_format_is_parseable_by_pycamunda_pattern() -> None:
    text = format_date(utc(2024, 5, 1, 12, 30, 0, 250000))
    assert datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z") == utc(2024, 5, 1, 12, 30, 0, 250000)


# --- input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Camunda's own pattern
        ("2024-05-01T12:30:00.000+0000", utc(2024, 5, 1, 12, 30)),
        ("2024-05-01T12:30:00.123+0200", utc(2024, 5, 1, 10, 30, 0, 123000)),
        ("2024-05-01T12:30:00.000-0130", utc(2024, 5, 1, 14, 0)),
        # offset with a colon, Z
        ("2024-05-01T12:30:00.000+02:00", utc(2024, 5, 1, 10, 30)),
        ("2024-05-01T12:30:00-05:00", utc(2024, 5, 1, 17, 30)),
        ("2024-05-01T12:30:00Z", utc(2024, 5, 1, 12, 30)),
        ("2024-05-01T12:30:00.5Z", utc(2024, 5, 1, 12, 30, 0, 500000)),
        # no offset: UTC
        ("2024-05-01T12:30:00", utc(2024, 5, 1, 12, 30)),
        ("2024-05-01T12:30:00.000", utc(2024, 5, 1, 12, 30)),
        # 0..6 fractional digits
        ("2024-05-01T12:30:00.1+0000", utc(2024, 5, 1, 12, 30, 0, 100000)),
        ("2024-05-01T12:30:00.12+0000", utc(2024, 5, 1, 12, 30, 0, 120000)),
        ("2024-05-01T12:30:00.1234+0000", utc(2024, 5, 1, 12, 30, 0, 123400)),
        ("2024-05-01T12:30:00.12345+0000", utc(2024, 5, 1, 12, 30, 0, 123450)),
        ("2024-05-01T12:30:00.123456+0000", utc(2024, 5, 1, 12, 30, 0, 123456)),
        # a raw "+" in a query string arrives as a space
        ("2024-05-01T12:30:00.000 0200", utc(2024, 5, 1, 10, 30)),
        ("2024-05-01T12:30:00 02:00", utc(2024, 5, 1, 10, 30)),
        ("2024-05-01T12:30:00.000 0000", utc(2024, 5, 1, 12, 30)),
        # crossing a day boundary
        ("2024-05-01T00:30:00+0100", utc(2024, 4, 30, 23, 30)),
    ],
)
def test_parse_accepted_forms(text: str, expected: datetime) -> None:
    result = parse_date(text)
    assert result == expected
    assert result.tzinfo is UTC


def test_parse_query_string_plus_that_became_a_space() -> None:
    ((name, value),) = parse_qsl("startedAfter=2024-05-01T12:30:00.000+0200")
    assert value == "2024-05-01T12:30:00.000 0200"
    assert parse_date(value) == utc(2024, 5, 1, 10, 30)


def test_parse_format_round_trip_at_millisecond_precision() -> None:
    dt = utc(2023, 12, 31, 23, 59, 59, 987000)
    assert parse_date(format_date(dt)) == dt


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2024-05-01",  # no time
        "2024-05-01T12:30",  # no seconds
        "2024-05-01 12:30:00",  # space instead of T
        "2024-05-01t12:30:00",  # lower-case t
        "2024-05-01T12:30:00z",  # lower-case z
        "2024-05-01T12:30:00.",  # dot without digits
        "2024-05-01T12:30:00.1234567",  # seven fractional digits
        "2024-05-01T12:30:00+02",  # offset without minutes
        "2024-05-01T12:30:00+2:00",
        "2024-05-01T12:30:00  0200",  # two spaces
        "2024-05-01T12:30:00 Z",
        "2024-05-01T12:30:00+0260",  # offset minutes out of range
        "2024-05-01T12:30:00+2400",  # offset of a whole day
        "2024-13-01T12:30:00",  # month 13
        "2024-02-30T12:30:00",  # no such day
        "2024-05-01T24:00:00",
        "2024-05-01T12:60:00",
        "2024-05-01T12:30:60",  # no leap seconds
        " 2024-05-01T12:30:00",
        "2024-05-01T12:30:00 ",
        "0000-01-01T00:00:00",  # year 0 does not exist
        "9999-12-31T23:00:00-0200",  # beyond datetime.max once in UTC
        "２０２４-05-01T12:30:00",  # non-ASCII digits
        "1714566600000",  # epoch millis are not a date text
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


@pytest.mark.parametrize("value", [None, 1714566600000, datetime(2024, 5, 1)])
def test_parse_rejects_non_strings_with_value_error(value: object) -> None:
    with pytest.raises(ValueError):
        parse_date(value)  # type: ignore[arg-type]
