"""Country assumptions (public holidays, sex ratio, age pyramid, born-abroad share, MSSanté
latency, MSSanté operators by sector) as reference data: ``scenarios/data/<country>.toml``,
each value with its source, read through the scenario's ``country`` (default: france)."""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scenarios import DATA_DIR
from simulator.core.errors import ScenarioError

OPERATOR_KEYS = ("mailiz", "establishment", "regional", "vendor")  # a sender's operator (not ``mes``)


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month, day = divmod(h + ll - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarData(_Strict):
    fixed_holidays: tuple[str, ...]  # MM-DD
    easter_offsets: tuple[int, ...]  # days after Easter Sunday

    def holidays(self, year: int) -> set[dt.date]:
        """The public holidays of ``year``."""
        days = {dt.date(year, int(d[:2]), int(d[3:])) for d in self.fixed_holidays}
        easter = easter_sunday(year)
        return days | {easter + dt.timedelta(days=n) for n in self.easter_offsets}


class PopulationData(_Strict):
    female_share: float = Field(ge=0, le=1)
    flat_until: int = Field(ge=0)
    decline_years: float = Field(gt=0)
    max_age: int = Field(gt=0)
    born_abroad_share: float = Field(ge=0, le=1)


class MssanteData(_Strict):
    latency_days: tuple[int, ...]
    operators: dict[str, dict[str, float]]


class Country(_Strict):
    """One country's assumptions (see scenarios/data/france.toml for the sources)."""

    calendar: CalendarData
    population: PopulationData
    mssante: MssanteData


@lru_cache(maxsize=8)
def load_country(name: str = "france") -> Country:
    """The assumptions of ``scenarios/data/<name>.toml``; a missing or malformed file is a
    ScenarioError naming it."""
    path = DATA_DIR / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in DATA_DIR.glob("*.toml"))
        raise ScenarioError(f"country: no reference data {path.name} in scenarios/data; allowed: {', '.join(known)}")
    try:
        return Country.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ScenarioError(f"{path}: {str(exc).splitlines()[0]}") from None
