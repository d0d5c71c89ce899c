"""Calendar (holidays, months) and named random streams."""

from __future__ import annotations

import datetime as dt

import numpy as np

from simulator.core.streams import Streams, replication_seeds
from simulator.engine.calendar import Calendar, easter_sunday, french_public_holidays


def test_easter_and_holidays():
    assert easter_sunday(2023) == dt.date(2023, 4, 9)
    assert easter_sunday(2025) == dt.date(2025, 4, 20)
    hol = french_public_holidays(2024)
    assert dt.date(2024, 4, 1) in hol  # Easter Monday
    assert dt.date(2024, 5, 9) in hol  # Ascension
    assert dt.date(2024, 7, 14) in hol and len(hol) == 11


def test_calendar_months_and_rhythm():
    cal = Calendar(dt.date(2023, 7, 30), dt.date(2023, 9, 2))
    assert cal.months == ["2023-07", "2023-08", "2023-09"]
    assert cal.month_of_day[0] == 0 and cal.month_of_day[-1] == 2
    assert list(cal.last_day_of_months()) == [1, 32, cal.n_days - 1]
    r = cal.rhythm([1, 1, 1, 1, 1, 0.5, 0], [1] * 7 + [0.8] + [1] * 4, holiday=0.1)
    assert r[cal.day(dt.date(2023, 8, 15))] == 0.1  # Assumption day
    assert r[cal.day(dt.date(2023, 8, 16))] == 0.8  # a Wednesday in August
    assert r[cal.day(dt.date(2023, 8, 20))] == 0.0  # a Sunday


def test_streams_are_reproducible_and_independent_by_name():
    a, b = Streams(5), Streams(5)
    x = a["sector:gp"].random(5)
    assert np.array_equal(x, b["sector:gp"].random(5))
    assert not np.array_equal(x, Streams(5)["sector:biology"].random(5))
    assert not np.array_equal(x, Streams(6)["sector:gp"].random(5))
    # creating another stream first does not shift a stream's draws
    c = Streams(5)
    c["service:dmp"].random(100)
    assert np.array_equal(x, c["sector:gp"].random(5))


def test_replication_seeds_distinct_and_stable():
    s = replication_seeds(1, 50)
    assert len(set(s)) == 50 and s == replication_seeds(1, 50)
    assert s[:10] == replication_seeds(1, 10)
