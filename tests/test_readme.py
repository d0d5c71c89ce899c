"""The README's headline figures are what their command prints: the wave 2 central projection
(`segur compare wave2 --scale 0.01 --seed 1`) — DMP table, MSSanté volumes, months targets are reached."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO
from tests.support_wave2 import README_SCALE, README_SEED

README = REPO / "README.md"
COMMAND = "segur compare wave2 --scale 0.01 --seed 1"
SEED, SCALE = README_SEED, README_SCALE


def wave2_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Wave 2 central projection")
    return text[start:text.index("\n## ", start + 10)]


def dmp_table(section: str) -> dict[tuple[str, str], float]:
    """(sector label, year) → millions, from the section's markdown table."""
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    years = [c.strip() for c in lines[0].strip("|").split("|")][1:]
    out = {}
    for ln in lines[2:]:
        cells = [c.strip().strip("*") for c in ln.strip("|").split("|")]
        for year, cell in zip(years, cells[1:], strict=True):
            out[(cells[0], year)] = float(cell)
    return out


def test_readme_says_which_command_seed_and_scale_its_table_is_from():
    section = wave2_section()
    assert f"`{COMMAND}`" in section
    table = dmp_table(section)
    assert {"wave 1 sectors", "all sectors"} <= {s for s, _ in table}
    for year in {y for _, y in table}:  # the printed totals add up
        wave1 = [v for (s, y), v in table.items() if y == year and s not in ("wave 1 sectors", "all sectors")]
        assert sum(wave1) == pytest.approx(table[("all sectors", year)], abs=0.1 * len(wave1))


@pytest.mark.slow
def test_readme_wave2_figures_equal_what_the_command_prints():
    from simulator.studies.compare import annual_volumes, target_dates
    from tests.support_wave2 import readme_wave2_runs

    runs = readme_wave2_runs()  # COMMAND's runs: seed SEED, scale SCALE
    vol = annual_volumes(runs).set_index(["sector", "year", "channel"])["documents"] / 1e6
    labels = {s: v.label for s, v in runs[0].scenario.sectors.items()}
    by_label = {lab.lower(): s for s, lab in labels.items()}
    wave1 = [s for s, v in runs[0].scenario.sectors.items() if v.wave == 1]
    section = wave2_section()
    for (label, year), shown in dmp_table(section).items():
        if label == "all sectors":
            got = vol[("all", year, "dmp")]
        elif label == "wave 1 sectors":
            got = sum(vol[(s, year, "dmp")] for s in wave1)
        else:
            got = vol[(by_label[label.lower()], year, "dmp")]
        assert shown == pytest.approx(got, abs=0.051), (label, year)  # printed to 0.1M; one seed: exact
    m = re.search(r"(\d+)M \((\d{4})\) → (\d+)M \((\d{4})\) between professionals and (\d+)M → (\d+)M to", section)
    assert m, "the MSSanté sentence"
    first, last = m.group(2), m.group(4)
    assert float(m.group(1)) == pytest.approx(vol[("all", first, "mssante_pro")], abs=0.51)
    assert float(m.group(3)) == pytest.approx(vol[("all", last, "mssante_pro")], abs=0.51)
    assert float(m.group(5)) == pytest.approx(vol[("all", first, "mssante_patient")], abs=0.51)
    assert float(m.group(6)) == pytest.approx(vol[("all", last, "mssante_patient")], abs=0.51)
    reached = target_dates(runs).set_index("target")["reached"]
    months = {"01": "January", "02": "February", "03": "March", "04": "April", "05": "May", "06": "June",
              "07": "July", "08": "August", "09": "September", "10": "October", "11": "November", "12": "December"}
    for key, when in reached.items():
        said = re.search(rf"`{key}`\s+—\s+([A-Z][a-z]+\s+\d{{4}}|not by\s+\d{{4}})", section)
        assert said, f"the README names when {key} is reached"
        expected = when if when.startswith("not by") else f"{months[when[5:]]} {when[:4]}"
        assert re.sub(r"\s+", " ", said.group(1)) == expected, key
