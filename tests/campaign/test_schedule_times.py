"""Quiet hours, typed send times, and the delivery settings."""

from datetime import time

import pytest

from base.settings import SettingsError, load_settings
from db.services.schedule_times import QuietHours, parse_day, parse_when
from db.text import Problem
from testkit.delivery_fakes import TZ, local


def test_the_delivery_settings_are_read_and_checked(monkeypatch):
    monkeypatch.setenv("BINHYEN_TELEGRAM_RATE", "20")
    monkeypatch.setenv("BINHYEN_QUIET_HOURS", "22:00-05:30")
    monkeypatch.setenv("BINHYEN_SCHEDULE_STALE_HOURS", "6")
    settings = load_settings()
    assert settings.telegram_rate == 20
    assert settings.quiet == QuietHours(time(22, 0), time(5, 30))
    assert settings.schedule_stale_hours == 6
    assert load_settings(quiet_hours="off").quiet is None
    for name, value in (("TELEGRAM_RATE", "0"), ("QUIET_HOURS", "9pm-6am"),
                        ("SCHEDULE_STALE_HOURS", "-1")):
        monkeypatch.setenv(f"BINHYEN_{name}", value)
        with pytest.raises(SettingsError, match=f"BINHYEN_{name}"):
            load_settings()
        monkeypatch.delenv(f"BINHYEN_{name}")


def test_quiet_hours_wrap_midnight_and_release_at_their_end():
    quiet = QuietHours.parse("21:00-06:00")
    assert quiet.covers(local(2026, 8, 10, 21, 0), TZ) and quiet.covers(local(2026, 8, 11, 5, 59), TZ)
    assert not quiet.covers(local(2026, 8, 10, 20, 59), TZ)
    assert quiet.release(local(2026, 8, 10, 23, 0), TZ) == local(2026, 8, 11, 6, 0)
    assert quiet.release(local(2026, 8, 11, 2, 0), TZ) == local(2026, 8, 11, 6, 0)
    assert quiet.release(local(2026, 8, 11, 9, 0), TZ) == local(2026, 8, 11, 9, 0)


def test_typed_times_are_today_or_a_day_this_year_and_in_the_future():
    now = local(2026, 8, 10, 9, 0)
    assert parse_when("19:00", now, TZ) == local(2026, 8, 10, 19, 0)
    assert parse_when("19h30", now, TZ) == local(2026, 8, 10, 19, 30)
    assert parse_when("20/08  07:30", now, TZ) == local(2026, 8, 20, 7, 30)
    for text in ("8:00", "31/02 07:00", "tomorrow", ""):
        with pytest.raises(Problem):
            parse_when(text, now, TZ)
    assert parse_day("19/08/2026").isoformat() == "2026-08-19"
    with pytest.raises(Problem, match="DD/MM/YYYY"):
        parse_day("2026-08-19")


def test_a_day_without_a_year_is_its_next_occurrence_within_a_year():
    december = local(2026, 12, 15, 9, 0)
    assert parse_when("05/01 08:00", december, TZ) == local(2027, 1, 5, 8, 0)
    assert parse_when("16/12 08:00", december, TZ) == local(2026, 12, 16, 8, 0)
    assert parse_when("15/12 08:00", december, TZ) == local(2027, 12, 15, 8, 0)  # an hour short of a year
    assert parse_when("05/01/2027 08:00", december, TZ) == local(2027, 1, 5, 8, 0)
    with pytest.raises(Problem, match="đã qua"):
        parse_when("05/01/2026 08:00", december, TZ)
    with pytest.raises(Problem, match="một năm"):
        parse_when("05/01/2028 08:00", december, TZ)
    with pytest.raises(Problem) as problem:
        parse_when("5 tháng 1", december, TZ)
    assert "DD/MM/YYYY HH:MM" in problem.value.message


def test_every_send_time_is_after_now_and_within_a_year():
    from db.services.schedule_times import check_send_time

    now = local(2026, 8, 10, 9, 0)
    assert check_send_time(local(2027, 8, 10, 9, 0), now, TZ) == local(2027, 8, 10, 9, 0)
    for moment, reason in ((now, "đã qua"), (local(2099, 1, 1, 7, 30), "một năm")):
        with pytest.raises(Problem, match=reason):
            check_send_time(moment, now, TZ)
