"""native.dates against values computed with datetime/zoneinfo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from native.dates import (
    DateParseError,
    format_date,
    next_calendar,
    parse_date,
    parse_date_math,
    parse_interval,
    parse_time_value,
    round_calendar,
)


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


NOW = ms(datetime(2024, 3, 15, 13, 45, 30, 123000, tzinfo=UTC))


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2024-01-01", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T10:20:30Z", datetime(2024, 1, 1, 10, 20, 30, tzinfo=UTC)),
        ("2024-01-01T10:20:30.5Z", datetime(2024, 1, 1, 10, 20, 30, 500000, tzinfo=UTC)),
        (
            "2024-01-01T10:20:30.123+02:00",
            datetime(2024, 1, 1, 10, 20, 30, 123000, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2024-01-01T10:20-0530", datetime(2024, 1, 1, 10, 20, tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
        ("2024-02", datetime(2024, 2, 1, tzinfo=UTC)),
        ("1704067200000", datetime(2024, 1, 1, tzinfo=UTC)),
        ("-1", datetime(1970, 1, 1, tzinfo=UTC) - timedelta(milliseconds=1)),
    ],
)
def test_parse_default_formats(text: str, expected: datetime) -> None:
    assert parse_date(text) == ms(expected)


def test_parse_numbers_and_named_formats() -> None:
    assert parse_date(1704067200000) == ms(datetime(2024, 1, 1, tzinfo=UTC))
    assert parse_date("1704067200", "epoch_second") == ms(datetime(2024, 1, 1, tzinfo=UTC))
    assert parse_date("20240131", "basic_date") == ms(datetime(2024, 1, 31, tzinfo=UTC))
    assert parse_date("2024-01-31", "date") == ms(datetime(2024, 1, 31, tzinfo=UTC))
    assert parse_date("2024-01-31T01:02:03.004Z", "strict_date_time") == ms(
        datetime(2024, 1, 31, 1, 2, 3, 4000, tzinfo=UTC)
    )
    fmt = "yyyy-MM-dd HH:mm:ss||yyyy-MM-dd||epoch_millis"
    assert parse_date("2024-05-06 07:08:09", fmt) == ms(datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC))
    assert parse_date("2024-05-06", fmt) == ms(datetime(2024, 5, 6, tzinfo=UTC))
    assert parse_date("86400000", fmt) == 86_400_000
    assert parse_date("06/05/2024", "dd/MM/yyyy") == ms(datetime(2024, 5, 6, tzinfo=UTC))
    assert parse_date("2024-05-06T07:08:09.123Z", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX") == ms(
        datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    )
    assert parse_date("12/Mar/2024", "dd/MMM/yyyy") == ms(datetime(2024, 3, 12, tzinfo=UTC))


def test_parse_time_zone_for_local_values() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert parse_date("2024-07-01T12:00:00", time_zone="Europe/Berlin") == ms(datetime(2024, 7, 1, 12, tzinfo=berlin))
    assert parse_date("2024-01-01T12:00:00", time_zone="-05:00") == ms(datetime(2024, 1, 1, 17, tzinfo=UTC))
    # an explicit offset wins over the time_zone parameter
    assert parse_date("2024-01-01T12:00:00Z", time_zone="+03:00") == ms(datetime(2024, 1, 1, 12, tzinfo=UTC))


@pytest.mark.parametrize("bad", ["2024-13-01", "2024-02-30", "not a date", "2024-01-01T25:00:00Z", ""])
def test_parse_errors(bad: str) -> None:
    with pytest.raises(DateParseError) as info:
        parse_date(bad)
    assert (
        str(info.value) == f"failed to parse date field [{bad}] with format [strict_date_optional_time||epoch_millis]"
    )
    assert isinstance(info.value, ValueError)


def test_date_math_now_rounding() -> None:
    day_start = ms(datetime(2024, 3, 14, tzinfo=UTC))
    assert parse_date_math("now-1d/d", now_millis=NOW) == day_start
    assert parse_date_math("now-1d/d", now_millis=NOW, round_up=True) == day_start + 86_400_000 - 1
    assert parse_date_math("now", now_millis=NOW) == NOW
    assert parse_date_math("now+1h", now_millis=NOW) == NOW + 3_600_000
    assert parse_date_math("now/M", now_millis=NOW) == ms(datetime(2024, 3, 1, tzinfo=UTC))
    assert parse_date_math("now/y", now_millis=NOW, round_up=True) == ms(datetime(2025, 1, 1, tzinfo=UTC)) - 1
    assert parse_date_math("now/w", now_millis=NOW) == ms(datetime(2024, 3, 11, tzinfo=UTC))  # a Monday
    assert parse_date_math("now-2M", now_millis=NOW) == ms(datetime(2024, 1, 15, 13, 45, 30, 123000, tzinfo=UTC))


def test_date_math_anchor_and_calendar_add() -> None:
    assert parse_date_math("2024-01-31||+1M", now_millis=NOW) == ms(datetime(2024, 2, 29, tzinfo=UTC))
    assert parse_date_math("2024-01-31||+1M/M", now_millis=NOW) == ms(datetime(2024, 2, 1, tzinfo=UTC))
    assert parse_date_math("2024-01-31||+1y-2d", now_millis=NOW) == ms(datetime(2025, 1, 29, tzinfo=UTC))
    # round_up fills missing time fields: lte 2024-01-01 covers the whole day
    assert parse_date_math("2024-01-01", now_millis=NOW, round_up=True) == ms(datetime(2024, 1, 2, tzinfo=UTC)) - 1
    with pytest.raises(DateParseError):
        parse_date_math("now+1x", now_millis=NOW)


def test_date_math_time_zone_rounding() -> None:
    tz = ZoneInfo("America/New_York")
    local_day = datetime(2024, 3, 15, tzinfo=tz)
    assert parse_date_math("now/d", now_millis=NOW, time_zone="America/New_York") == ms(local_day)
    assert parse_date_math("now/d", now_millis=NOW, time_zone="+10:00") == ms(
        datetime(2024, 3, 15, tzinfo=timezone(timedelta(hours=10)))
    )


def test_dst_rounding_and_next() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 2024-03-31 is the spring-forward day in Berlin: 23 hours long
    inside = ms(datetime(2024, 3, 31, 12, tzinfo=berlin))
    start = round_calendar(inside, "day", "Europe/Berlin")
    end = next_calendar(inside, "day", "Europe/Berlin")
    assert start == ms(datetime(2024, 3, 31, tzinfo=berlin))
    assert end == ms(datetime(2024, 4, 1, tzinfo=berlin))
    assert end - start == 23 * 3_600_000
    # autumn: 25-hour day
    autumn = ms(datetime(2024, 10, 27, 12, tzinfo=berlin))
    assert (
        next_calendar(autumn, "1d", "Europe/Berlin") - round_calendar(autumn, "1d", "Europe/Berlin") == 25 * 3_600_000
    )
    assert round_calendar(inside, "month", "Europe/Berlin") == ms(datetime(2024, 3, 1, tzinfo=berlin))
    assert next_calendar(inside, "quarter", "Europe/Berlin") == ms(datetime(2024, 4, 1, tzinfo=berlin))
    assert round_calendar(inside, "year") == ms(datetime(2024, 1, 1, tzinfo=UTC))
    assert round_calendar(inside, "week") == ms(datetime(2024, 3, 25, tzinfo=UTC))
    assert round_calendar(inside, "hour", "Asia/Kolkata") % 3_600_000 == 30 * 60_000


def test_format_date() -> None:
    t = ms(datetime(2024, 1, 1, tzinfo=UTC))
    assert format_date(t) == "2024-01-01T00:00:00.000Z"
    assert format_date(t, "epoch_millis") == "1704067200000"
    assert format_date(t, "epoch_second") == "1704067200"
    assert format_date(t, "yyyy-MM-dd") == "2024-01-01"
    assert format_date(t, "yyyy/MM/dd HH:mm:ss||epoch_millis") == "2024/01/01 00:00:00"
    assert format_date(t, time_zone="Europe/Berlin") == "2024-01-01T01:00:00.000+01:00"
    assert format_date(t + 123, "strict_date_time") == "2024-01-01T00:00:00.123Z"
    assert format_date(t, "dd MMM yyyy") == "01 Jan 2024"
    assert format_date(-1, "strict_date_optional_time") == "1969-12-31T23:59:59.999Z"


def test_intervals_and_time_values() -> None:
    assert parse_interval("30000ms") == 30_000
    assert parse_interval("30s") == 30_000
    assert parse_interval("5m") == 300_000
    assert parse_interval("1h") == 3_600_000
    assert parse_interval("1d") == 86_400_000
    with pytest.raises(ValueError):
        parse_interval("1M")
    assert parse_time_value("1m") == 60.0
    assert parse_time_value("30s") == 30.0
    assert parse_time_value("500ms") == 0.5
    assert parse_time_value("-1") == -1.0
