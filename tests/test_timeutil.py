from datetime import UTC, datetime

import pytest

from scrm.exceptions import ConfigError
from scrm.timeutil import get_zone, parse_datetime


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-01T10:00:00Z", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01T10:00:00+02:00", datetime(2026, 11, 1, 8, tzinfo=UTC)),
        ("2015-02-24 11:35:52 -0800", datetime(2015, 2, 24, 19, 35, 52, tzinfo=UTC)),
        ("Tue Oct 31 22:10:47 +0000 2017", datetime(2017, 10, 31, 22, 10, 47, tzinfo=UTC)),
        ("1509487847", datetime(2017, 10, 31, 22, 10, 47, tzinfo=UTC)),
        ("1509487847000", datetime(2017, 10, 31, 22, 10, 47, tzinfo=UTC)),
        (1509487847.0, datetime(2017, 10, 31, 22, 10, 47, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("Wed, 02 Oct 2002 13:00:00 GMT", datetime(2002, 10, 2, 13, tzinfo=UTC)),
    ],
)
def test_parse_datetime_formats(value: object, expected: datetime) -> None:
    assert parse_datetime(value) == expected


def test_naive_time_takes_the_given_zone() -> None:
    assert parse_datetime("2026-07-01 12:00:00", get_zone("Europe/Paris")) == datetime(
        2026, 7, 1, 10, tzinfo=UTC
    )


@pytest.mark.parametrize("value", ["", "yesterday", "2026-13-45", "12", "99999999999999", None])
def test_bad_dates_raise_value_error(value: object) -> None:
    with pytest.raises(ValueError):
        parse_datetime(value)


def test_unknown_zone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Unknown timezone"):
        get_zone("Mars/Olympus")
