"""The simulation calendar: one SimPy time unit is one day; days map to dates and months.

Also the rhythm of care: weekday, public holidays (fixed dates and those that follow Easter)
and month-of-year factors, pre-computed once per run as arrays indexed by day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from scenarios.country import CalendarData, easter_sunday, load_country

__all__ = ["Calendar", "easter_sunday", "french_public_holidays"]

def french_public_holidays(year: int) -> set[dt.date]:
    """Public holidays in France (metropolitan list), from scenarios/data/france.toml."""
    return load_country("france").calendar.holidays(year)


@dataclass(frozen=True)
class Calendar:
    """Days of a run from ``start`` to ``end`` inclusive; day 0 is ``start``."""

    start: dt.date
    end: dt.date
    country: CalendarData | None = None  # public holidays (None: France's, scenarios/data/france.toml)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("end date is before start date")

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days + 1

    def date(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=int(day))

    def day(self, date: dt.date) -> int:
        return (date - self.start).days

    @property
    def dates(self) -> np.ndarray:
        """datetime64[D] of every day."""
        return np.arange(np.datetime64(self.start), np.datetime64(self.end) + 1)

    @property
    def month_of_day(self) -> np.ndarray:
        """Index of each day's month (0 = month of ``start``)."""
        months = self.dates.astype("datetime64[M]")
        return (months - months[0]).astype(np.int32)

    @property
    def months(self) -> list[str]:
        """Month labels 'YYYY-MM', index = month number of the run."""
        first = np.datetime64(self.start, "M")
        last = np.datetime64(self.end, "M")
        return [str(m) for m in np.arange(first, last + 1)]

    @property
    def n_months(self) -> int:
        return len(self.months)

    def month_index(self, date: dt.date) -> int:
        return (date.year - self.start.year) * 12 + date.month - self.start.month

    @property
    def weekday(self) -> np.ndarray:
        """0 = Monday … 6 = Sunday for each day."""
        return (self.dates.astype("datetime64[D]").astype(np.int64) + 3) % 7

    @property
    def calendar_month(self) -> np.ndarray:
        """1..12 for each day."""
        return self.dates.astype("datetime64[M]").astype(np.int64) % 12 + 1

    @property
    def is_holiday(self) -> np.ndarray:
        hol: set[dt.date] = set()
        for y in range(self.start.year, self.end.year + 1):
            hol |= (self.country or load_country("france").calendar).holidays(y)
        dates = self.dates
        return np.isin(dates, np.array(sorted(hol), dtype="datetime64[D]"))

    def rhythm(self, weekly: list[float], seasonal: list[float], holiday: float) -> np.ndarray:
        """Activity multiplier of each day: weekday factor × month factor, holidays at ``holiday``."""
        w = np.asarray(weekly, dtype=float)[self.weekday]
        s = np.asarray(seasonal, dtype=float)[self.calendar_month - 1]
        r = w * s
        r[self.is_holiday] = np.minimum(r[self.is_holiday], holiday)
        return r

    def last_day_of_months(self) -> np.ndarray:
        """Day index of the last simulated day of each month."""
        mod = self.month_of_day
        return np.flatnonzero(np.r_[mod[1:] != mod[:-1], True])
