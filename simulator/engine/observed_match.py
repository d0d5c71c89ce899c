"""Match each observed figure (scenarios/data/observed.csv) to the simulated quantity it
measures, so that calibration, the regression test and report figures share one definition.

"Documents sent" (observed volumes, shares and annualised rates) means documents **accepted
by the DMP / Mon espace santé** (channel ``dmp``, outcome ``accepted``): the 2023 figures
count documents sent to Mon espace santé, and the MSSanté flow is counted apart (>7M messages
a month as early as 2021). The one exception is ``mssante_messages_per_month`` (MSSanté
messages sent, professional and patient channels, whatever their outcome).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from scenarios.observed import load_observed
from simulator.engine.monthly import monthly_frame
from simulator.engine.results import Results

# What a row of each metric is compared with (shown in fit tables).
QUANTITY = {
    "documents_per_year": "DMP accepted documents summed over the year",
    "documents_per_month": "DMP accepted documents in the month",
    "documents_annual_rate": "DMP accepted documents in the month × 12",
    "documents_last_12_months": "DMP accepted documents over the 12 months to the month",
    "documents_growth_last_12_months": "DMP accepted documents over the 12 months to the month / the 12 months before − 1, in percent",
    "share_of_documents": "sector's share of the DMP accepted documents of the month",
    "mssante_messages_per_month": "MSSanté messages sent in the month (to professionals and patients)",
    "mssante_equipped_share": "facilities with an MSSanté mailbox / facilities (month end)",
    "install_rate": "facilities with the Ségur update installed / facilities that ordered it (month end)",
    "facilities_equipped": "facilities with the Ségur update installed (month end, national count)",
    "facilities_equipped_share": "facilities with the Ségur update installed / facilities (month end)",
    "share_esms_with_segur_dui": "ESMS with a Ségur-referenced DUI installed (the wave 1 DUI or, once launched, the wave 2 campaign) / ESMS, in percent (month end)",
    "professionals_equipped_segur_software": "facilities with the Ségur update installed (month end, national count; GP facilities are GPs and centres)",
    "mssante_mailboxes": "MSSanté mailboxes, personal + organisational + applicative (month end)",
    "patient_to_professional_messages_cumulative": "patient → professional MSSanté messages sent since the start of the run",
    "professionals_feeding_in_month": "GPs with at least one DMP document accepted in the month",
    "mes_profiles_open": "profiles open + activated (month end)",
    "mes_profiles_activated": "profiles activated (month end)",
    "mes_activations_per_month": "profiles activated at month end − at the previous month end",
    "mes_opposition_rate": "opposed / (open + activated + opposed + closed) (month end)",
    "eprescriptions_per_month": "e-prescriptions registered in the base in the month (GPs)",
    "eprescriptions_cumulative": "e-prescriptions registered in the base from the start of the run to the month end (GPs)",
    "eprescription_doctors_users": "GPs e-prescribing at month end",
    "eprescription_pharmacies_executing": "pharmacies whose software dispenses through the base at month end",
    "target_mes_profiles_activated": "profiles activated (month end), against a programme target",
    "pharmacy_vaccination_notes_sent": "DMP accepted vaccination notes (87273-9) of the pharmacies over the five months to the month (the winter season, October to February)",
}
# The winter vaccination season a "notes sent" row counts: the months to its date [I] (the
# source says "winter season 2024-2025", approx. October 2024 – February 2025).
VACCINATION_SEASON_MONTHS = 5
# Rows that state a programme target, not an observation: matched so that a run can be read
# against them, never fitted (their calibration weight is 0).
TARGET_METRICS = frozenset({"target_mes_profiles_activated"})
# Observed "sectors" that name something else than a sector of the model.
SECTOR_ALIASES = {("install_rate", "hospital_dpi"): "hospital"}
UNMATCHED_WHY = {
    ("install_rate", "hospital_identity"): "the model has one hospital software update, the DPI (it produces the documents); the identity repository update is not modelled",
    ("install_rate", "hospital_pfi"): "the model has one hospital software update, the DPI (it produces the documents); the intermediation platform (PFI) is not modelled",
    ("mssante_equipped_share", "liberal_professionals"): "'liberal_professionals' is a group of professions, not a sector of the model",
}
# Yearly figures of a kind of document whoever sends it (the 2024 transparency figures count city
# AND hospital biology, city AND hospital imaging, medication prescriptions of GPs and hospitals):
# matched as the DMP documents accepted of these LOINC types, across every sector.
DOCUMENT_KINDS = {
    ("documents_per_year", "biology"): ("11502-2", "60568-3", "51969-4"),
    ("documents_per_year", "radiology"): ("18748-4",),
    ("documents_per_year", "prescription_medication"): ("57833-6",),
}
# Per-sector rows count by Ségur "couloir" (the software that deposits), not by the producer:
# the biology couloir's lab software (SGL) serves city AND hospital labs ("Le Ségur Biologie
# Médicale s'adresse aux laboratoires de biologie médicale de ville et en établissements de
# santé", esante.gouv.fr/segur/biologie-medicale; Ordre des pharmaciens, 2022-04-01) [V], so a
# hospital's lab reports are read as biology in the sector rows (the DNS deck's rates of
# Sept 2023, the end-2023 shares) and not as hospital [I, set 2026-12-07].
COULOIR_DOCUMENTS = {"biology": ("hospital", ("11502-2", "60568-3", "51969-4"))}
# Metrics the model has no counterpart for (whatever the sector), and why.
METRIC_WHY = {
    "share_documents_sent_via_mes": "a share of all documents produced in France, sent or not; the model counts only the documents it sends",
    "share_receiving_document": "the model does not record which persons received a document",
    "medico_social_esms_numerique_beneficiaries": "medico-social funding programmes are not modelled",
    "mes_activations_in_year": "the same figure as the 2024 mes_activations_per_month row (526,000 × 12); matched once, there",
    "mes_first_connections_per_month": "first connections = activations: matched through mes_activations_per_month",
    "mes_weekly_active_users": "the model has no use of the app after activation",
    "mes_active_users_per_month": "the model has no use of the app after activation",
    "mes_return_rate_month_to_month": "the model has no use of the app after activation",
    "mes_app_downloads_cumulative": "the model has no app downloads",
    "patient_consulted_documents_per_month": "the model has no document consultations",
    "dmp_consulted_by_professionals_per_month": "the model has no document consultations",
    "patient_uploaded_documents_cumulative": "the model has no documents added by patients",
    "mes_profiles_open_share": "a share of the insured (denominator not stated); the profile counts are matched through mes_profiles_open",
    "mes_profiles_activated_share": "a rounded share of the insured (\"one in four\"); the counts are matched through mes_profiles_activated",
    "eprescription_share_of_prescriptions": "a share of the prescriptions of every prescriber (specialists, dentists, hospitals…); the model has GPs' prescriptions only",
    "eprescription_software_approved": "a count of software products approved; the model has the share of GPs whose software is authorised (eprescription_adoption.gp_software_authorised)",
}
# Single rows set aside: contradictions between sources (the reason names the other row).
EXCLUDED_ROWS = {
    ("2024-02", "documents_per_quarter", "all"): "contradiction: 20M a quarter disagrees with ≈22.7M a month (Jan 2024) and 264M a year; a misquote",
    ("2024-01", "mes_activations_per_month", "all"): "contradiction: 300,000 (DNS) against 450,000 first connections (ameli) the same month; the 2024 average (526,000) is matched instead",
}
# Rows that are averages over several months ending at their date: (date, metric, sector) → months.
AVERAGED_ROWS = {("2024-12", "mes_activations_per_month", "all"): 6,  # "average over the last semester"
                 ("2024-05", "eprescriptions_per_month", "all"): 6}  # "average Dec 2023-May 2024"
# Per-month metrics whose year-dated rows are the mean of the year's months.
YEAR_MEAN = {"mes_activations_per_month", "documents_per_month"}


class Unmatched(Exception):
    """A row that has no simulated counterpart in these results (the message says why)."""


def _months_of(date: str, results: Results) -> list[str]:
    months = results.manifest["months"]
    wanted = [m for m in months if m.startswith(date)] if len(date) == 4 else [date]
    if len(date) == 4 and len(wanted) < 12:
        raise Unmatched(f"the run does not cover the whole year {date}")
    if not wanted or wanted[0] not in months:
        raise Unmatched(f"{date} is outside the run ({months[0]} to {months[-1]})")
    return wanted


def _sector(results: Results, metric: str, sector: str) -> str:
    s = SECTOR_ALIASES.get((metric, sector), sector)
    if (metric, sector) in DOCUMENT_KINDS:  # a kind of document, not a sector
        return s
    if s != "all" and s not in results.manifest["sectors"]:
        raise Unmatched(f"no sector '{s}' in this scenario")
    return s


class _Cache:
    """Per-results tables derived once (monthly DMP accepted, MSSanté sent, GPs feeding)."""

    def __init__(self, results: Results):
        self.r = results
        self.dmp = monthly_frame(results, "dmp", "accepted")
        docs = results.tables["documents"]
        mss = docs[docs["channel"].isin(["mssante_pro", "mssante_patient"])]
        self.mss = mss.groupby("month")["documents"].sum().reindex(results.manifest["months"], fill_value=0.0)
        months = results.manifest["months"]
        pat = docs[docs["channel"] == "mssante_from_patient"]
        self.from_patient = pat.groupby("month")["documents"].sum().reindex(months, fill_value=0.0).cumsum()
        boxes = results.tables.get("mailboxes")
        self.mailboxes = (boxes.groupby("month")["mailboxes"].sum().reindex(months) if boxes is not None
                          else None)
        ad = results.tables["adoption"]
        self.adoption = ad.set_index(["month", "sector"])
        prof = results.tables["profiles"].pivot_table(index="month", columns="state", values="persons", aggfunc="sum", fill_value=0.0)
        self.profiles = prof.reindex(results.manifest["months"], fill_value=0.0)
        gpa = results.tables["gp_activity"]
        fscale = results.manifest.get("simulated", {}).get("facility_scale", {}).get("gp", results.scale)
        feeding = gpa[gpa["documents"] >= 1].groupby("month").size() / fscale
        self.gp_feeding = feeding.reindex(results.manifest["months"], fill_value=0.0).astype(float)

    def eprescription(self, what: str) -> pd.Series:
        """E-prescription series (national): registered per month, or a month-end count."""
        months = self.r.manifest["months"]
        if "eprescription" not in self.r.tables:
            raise Unmatched("the scenario has no [eprescription] section")
        if what == "registered":
            ep = self.r.tables["eprescription"]
            value = "national" if "national" in ep.columns else "count"
            reg = ep[ep["event"] == "registered"].groupby("month")[value].sum()
            return reg.reindex(months, fill_value=0.0).astype(float)
        ad = self.r.tables.get("eprescription_adoption")
        if ad is None:
            raise Unmatched("these results have no eprescription_adoption table (written before it existed)")
        return ad.set_index("month")[what].reindex(months).astype(float)

    def dmp_types(self, codes: tuple[str, ...]) -> pd.Series:
        """DMP documents accepted each month of the LOINC types ``codes``, whoever sent them."""
        docs = self.r.tables["documents"]
        d = docs[(docs["channel"] == "dmp") & (docs["outcome"] == "accepted") & docs["doc_type"].astype(str).isin(codes)]
        return d.groupby("month")["documents"].sum().reindex(self.r.manifest["months"], fill_value=0.0).astype(float)

    def dmp_sector_types(self, sector: str, codes: tuple[str, ...]) -> pd.Series:
        """DMP documents accepted each month of the LOINC types ``codes`` sent by ``sector``."""
        docs = self.r.tables["documents"]
        d = docs[(docs["channel"] == "dmp") & (docs["outcome"] == "accepted") & (docs["sector"].astype(str) == sector)
                 & docs["doc_type"].astype(str).isin(codes)]
        return d.groupby("month")["documents"].sum().reindex(self.r.manifest["months"], fill_value=0.0).astype(float)

    def dmp_series(self, sector: str) -> pd.Series:
        """DMP documents accepted each month, of one couloir (``COULOIR_DOCUMENTS``) or of all."""
        if sector == "all":
            return self.dmp.sum(axis=1)
        own = self.dmp.get(sector, pd.Series(0.0, index=self.dmp.index))
        for couloir, (producer, codes) in COULOIR_DOCUMENTS.items():
            if producer not in self.dmp.columns:
                continue
            if sector == couloir:
                own = own + self.dmp_sector_types(producer, codes)
            elif sector == producer:
                own = own - self.dmp_sector_types(producer, codes)
        return own

    def adoption_share(self, sector: str, column: str) -> pd.Series:
        df = self.adoption.xs(sector, level="sector")
        return (df[column] / df["facilities"]).reindex(self.r.manifest["months"])

    def adoption_ratio(self, sector: str, column: str, per: str | None) -> pd.Series:
        """``column`` / ``per`` at month end (a national count when ``per`` is None; results
        without an ``ordered`` column (older runs) divide by the facilities)."""
        df = self.adoption.xs(sector, level="sector")
        if per is None:
            return df[column].reindex(self.r.manifest["months"]).astype(float)
        den = df[per] if per in df else df["facilities"]
        return (df[column] / den.where(den > 0)).reindex(self.r.manifest["months"])

    def prof(self, state: str) -> pd.Series:
        return self.profiles[state] if state in self.profiles else pd.Series(0.0, index=self.profiles.index)


def _series(c: _Cache, metric: str, sector: str) -> pd.Series:
    """The monthly simulated curve of a metric (national figures)."""
    if (metric, sector) in DOCUMENT_KINDS:
        return c.dmp_types(DOCUMENT_KINDS[metric, sector])
    curve = _SERIES.get(metric)
    if curve is None:
        raise Unmatched(f"no simulated quantity is defined for metric '{metric}'")
    return curve(c, sector)


def _growth(c: _Cache, sector: str) -> pd.Series:
    t = c.dmp_series(sector).rolling(12).sum()
    return (t / t.shift(12) - 1.0) * 100.0


def _share_of_documents(c: _Cache, sector: str) -> pd.Series:
    total = c.dmp_series("all")
    return (c.dmp_series(sector) / total.where(total > 0)).fillna(0.0)


def _only(sectors: str, why: str, curve: Callable[[_Cache], pd.Series | None]) -> Callable[[_Cache, str], pd.Series]:
    """A curve the run records for one sector (or all together) only: ``why`` otherwise, or
    when the run has no such table."""
    def series(c: _Cache, sector: str) -> pd.Series:
        found = curve(c) if sector == sectors else None
        if found is None:
            raise Unmatched(why)
        return found
    return series


def _esms_share(c: _Cache, sector: str) -> pd.Series:
    if sector != "medico_social":
        raise Unmatched("the share of ESMS with a Ségur DUI is a médico-social figure")
    return c.adoption_share(sector, "installed") * 100.0


def _opposition_rate(c: _Cache, sector: str) -> pd.Series:
    informed = c.prof("open") + c.prof("activated") + c.prof("opposed") + c.prof("closed")
    return c.prof("opposed") / informed.where(informed > 0)


#: metric → its monthly simulated curve (of the row's sector)
_SERIES: dict[str, Callable[[_Cache, str], pd.Series]] = {
    "documents_per_month": lambda c, s: c.dmp_series(s),
    "documents_per_year": lambda c, s: c.dmp_series(s),
    "documents_annual_rate": lambda c, s: c.dmp_series(s) * 12,
    "documents_last_12_months": lambda c, s: c.dmp_series(s).rolling(12).sum(),
    "documents_growth_last_12_months": _growth,
    "share_of_documents": _share_of_documents,
    "mssante_messages_per_month": _only("all", "MSSanté messages are matched for all sectors together only",
                                       lambda c: c.mss),
    "mssante_equipped_share": lambda c, s: c.adoption_share(s, "mailbox"),
    "mssante_mailboxes": _only("all", "MSSanté mailboxes are counted for all sectors together, in runs with a "
                               "mailboxes table", lambda c: c.mailboxes),
    "patient_to_professional_messages_cumulative": _only(
        "all", "patients' messages are matched for all sectors together only", lambda c: c.from_patient),
    "install_rate": lambda c, s: c.adoption_ratio(s, "installed", "ordered"),  # shares of ordered updates
    "facilities_equipped_share": lambda c, s: c.adoption_share(s, "installed"),
    "share_esms_with_segur_dui": _esms_share,
    "facilities_equipped": lambda c, s: c.adoption_ratio(s, "installed", None),
    "professionals_equipped_segur_software": lambda c, s: c.adoption_ratio(s, "installed", None),
    "professionals_feeding_in_month": _only("gp", "facility-month activity is recorded for GPs only",
                                            lambda c: c.gp_feeding),
    "mes_profiles_open": lambda c, s: c.prof("open") + c.prof("activated"),
    "mes_profiles_activated": lambda c, s: c.prof("activated"),
    "target_mes_profiles_activated": lambda c, s: c.prof("activated"),
    "mes_activations_per_month": lambda c, s: c.prof("activated").diff(),
    "mes_opposition_rate": _opposition_rate,
    "pharmacy_vaccination_notes_sent": lambda c, s: c.dmp_sector_types(s, ("87273-9",)).rolling(
        VACCINATION_SEASON_MONTHS).sum(),
    "eprescriptions_per_month": lambda c, s: c.eprescription("registered"),
    "eprescriptions_cumulative": lambda c, s: c.eprescription("registered").cumsum(),
    "eprescription_doctors_users": lambda c, s: c.eprescription("gp_eprescribing"),
    "eprescription_pharmacies_executing": lambda c, s: c.eprescription("pharmacies_scanning"),
}


def _check_profiles_sector(metric: str, sector: str) -> None:
    if metric.startswith(("mes_", "target_mes_")) and sector != "all":
        raise Unmatched("Mon espace santé profiles are matched for all sectors together only")


def simulated_series(results: Results, metric: str, sector: str) -> pd.Series:
    """The monthly simulated curve that observed rows of (metric, sector) are points of.

    Raises Unmatched (with the reason) when the model has no such quantity.
    """
    why = METRIC_WHY.get(metric) or UNMATCHED_WHY.get((metric, sector))
    if why:
        raise Unmatched(why)
    _check_profiles_sector(metric, sector)
    c = _Cache(results)
    return _series(c, metric, _sector(results, metric, sector))


def why_unmatched(date: str, metric: str, sector: str) -> str | None:
    """Why a row is never matched (whatever the run), or None."""
    if (date, metric, sector) in EXCLUDED_ROWS:
        return EXCLUDED_ROWS[(date, metric, sector)]
    if metric in METRIC_WHY:
        return METRIC_WHY[metric]
    return UNMATCHED_WHY.get((metric, sector))


def _simulated_value(c: _Cache, row: pd.Series) -> float:
    metric, sector, date = row["metric"], row["sector"], row["date"]
    why = why_unmatched(date, metric, sector)
    if why:
        raise Unmatched(why)
    _check_profiles_sector(metric, sector)
    s = _sector(c.r, metric, sector)
    if metric not in QUANTITY:
        raise Unmatched(f"no simulated quantity is defined for metric '{metric}'")
    months = _months_of(date, c.r)
    if len(months) > 1 and metric not in YEAR_MEAN and metric != "documents_per_year":
        raise Unmatched(f"'{metric}' needs a month (YYYY-MM), got the year {date}")
    series = _series(c, metric, s)
    if metric == "documents_per_year":
        return float(series.loc[months].sum())
    if len(months) > 1 or (date, metric, sector) in AVERAGED_ROWS:
        if len(months) == 1:
            k = AVERAGED_ROWS[(date, metric, sector)]
            at = list(series.index).index(months[0])
            if at + 1 < k:
                raise Unmatched(f"the run does not cover the {k} months to {date}")
            months = list(series.index[at + 1 - k: at + 1])
        value = series.loc[months].mean()
        if pd.isna(value):
            raise Unmatched(f"no simulated value over {months[0]} to {months[-1]}")
        return float(value)
    value = series.loc[months[0]]
    if pd.isna(value):
        raise Unmatched(f"no simulated value in {months[0]} (first month of the run?)")
    return float(value)


# A published "more than N" ("plus de 17 millions") is read as close to N: a press release rounds
# down to a round figure, so the true value lies in [N, N × 1.1) [I, rule set 2026-12-07, issue 24]:
# a lower-bound row counts a shortfall below N and an excess beyond N × 1.1, nothing between.
MORE_THAN_MARGIN = 0.10


def one_sided(rel_error: float, bound: str) -> float:
    """The part of a relative error that counts: all of it for a point; for a lower bound
    ("more than N"), a shortfall below N and an excess beyond N × (1 + MORE_THAN_MARGIN); only
    an excess for an upper bound."""
    if bound == "lower":  # "more than N" reads as N to N × (1 + MORE_THAN_MARGIN)
        return min(rel_error, 0.0) + max(rel_error - MORE_THAN_MARGIN, 0.0)
    if bound == "upper":
        return max(rel_error, 0.0)
    return rel_error


def observed_vs_simulated(results: Results, observed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every observed row beside its simulated value.

    Columns: date, metric, sector, unit, bound, observed, simulated, rel_error
    ((simulated − observed) / observed), error (rel_error, one-sided for bounds), matched,
    quantity (what was simulated), why (for unmatched rows), source, note.
    """
    obs = load_observed() if observed is None else observed
    c = _Cache(results)
    out = []
    for _, row in obs.iterrows():
        rec = {k: row[k] for k in ("date", "metric", "sector", "unit", "bound")}
        rec["observed"] = float(row["value"])
        try:
            sim = _simulated_value(c, row)
        except Unmatched as exc:
            rec.update(simulated=np.nan, rel_error=np.nan, error=np.nan, matched=False, quantity="", why=str(exc))
        else:
            rel = (sim - rec["observed"]) / rec["observed"] if rec["observed"] else np.nan
            rec.update(simulated=sim, rel_error=rel, error=one_sided(rel, row["bound"]), matched=True,
                       quantity=(f"DMP accepted documents of types {', '.join(DOCUMENT_KINDS[kind])} "
                                 f"(every sector), summed over the year") if (kind := (row["metric"], row["sector"]))
                       in DOCUMENT_KINDS else QUANTITY[row["metric"]], why="")
        rec["source"] = row["source"]
        rec["note"] = row["note"]
        out.append(rec)
    return pd.DataFrame(out)


def combine(tables: Sequence[pd.DataFrame], how: str = "mean") -> pd.DataFrame:
    """One fit table from the fit tables of several replications: the simulated value is the
    mean (or median) over replications, errors recomputed; ``sim_cv`` is their coefficient of
    variation (sampling noise)."""
    if not tables:
        raise ValueError("no tables to combine")
    base = tables[0].copy()
    sims = np.vstack([t["simulated"].to_numpy(dtype=float) for t in tables])
    agg: Callable = np.nanmedian if how == "median" else np.nanmean
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns of unmatched rows
        sim = agg(sims, axis=0)
        mean = np.nanmean(sims, axis=0)
        sd = np.nanstd(sims, axis=0, ddof=1) if len(tables) > 1 else np.zeros(sims.shape[1])
        cv = np.where(mean != 0, sd / np.abs(mean), np.nan)
    base["simulated"] = sim
    base["rel_error"] = (base["simulated"] - base["observed"]) / base["observed"]
    base["error"] = [one_sided(r, b) if m else np.nan for r, b, m in zip(base["rel_error"], base["bound"], base["matched"], strict=True)]
    base["replications"] = len(tables)
    base["sim_cv"] = np.where(base["matched"], cv, np.nan)
    return base
