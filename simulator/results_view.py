"""The typed view of a run's tables that the Python API hands out, and its inverse.

On disk (and in ``Results.tables``) a table keeps the form `segur run` has always written:
months as ``YYYY-MM`` text, an empty ``reason`` for "no reason", the national estimate in a
column named ``documents`` (documents, territory) or ``national`` (flows, e-prescription).
``Results.to_df`` gives researchers the typed form instead:

- months are ``Period[M]`` (``month``), days ``datetime64`` (``date``);
- dimensions (sector, channel, outcome, reason, doc_type, state, …) are categorical;
- "no reason" is missing (``NA``), not ``""``;
- the national estimate is named ``national`` in every table (``count`` stays the simulated count);
- ``sector_label`` and ``doc_type_label`` name sectors and document types (French, as the programme).

``to_file_form`` turns a typed frame back (so a frame taken with ``to_df``, changed and put back
into a ``Results`` still saves and reports as before).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

DIMENSIONS = ("sector", "doc_type", "channel", "outcome", "reason", "state", "departement", "flow", "event", "route")
LABELS = ("sector_label", "doc_type_label")
# tables whose national estimate is called ``documents`` in the files
NATIONAL_AS_DOCUMENTS = ("documents", "territory")


def typed(name: str, df: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """The API form of table ``name`` (a new frame; ``df`` is left as it is)."""
    out = df.copy()
    if "month" in out.columns:
        out["month"] = pd.PeriodIndex(out["month"].astype(str), freq="M")
    if "date" in out.columns:
        out["date"] = pd.to_datetime(out["date"].astype(str))
    if name in NATIONAL_AS_DOCUMENTS and "documents" in out.columns:
        out = out.rename(columns={"documents": "national"})
    if "reason" in out.columns:
        out["reason"] = out["reason"].astype(object).where(out["reason"].astype(str) != "", None)
    if "sector" in out.columns:
        labels = {s: (v or {}).get("label") or s for s, v in manifest.get("scenario", {}).get("sectors", {}).items()}
        out.insert(out.columns.get_loc("sector") + 1, "sector_label",
                   out["sector"].map(lambda s: labels.get(s, s)).astype("category"))
    if "doc_type" in out.columns:
        from agents.catalogue import load_catalogue

        names = {t.code: t.label_fr for t in load_catalogue()}
        out.insert(out.columns.get_loc("doc_type") + 1, "doc_type_label",
                   out["doc_type"].map(lambda c: names.get(c, c)).astype("category"))
    for col in DIMENSIONS:
        if col in out.columns:
            order = manifest.get("sectors") if col == "sector" else None
            values = out[col].dropna().unique().tolist()
            cats = [c for c in order if c in set(values)] + sorted(set(values) - set(order)) if order else sorted(values)
            out[col] = pd.Categorical(out[col], categories=cats)
    return out


def to_file_form(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """A frame in the files' form: ``df`` itself when it already is, else a converted copy."""
    if not _needs_conversion(name, df):
        return df
    out = df.drop(columns=[c for c in LABELS if c in df.columns])
    if "national" in out.columns and name in NATIONAL_AS_DOCUMENTS:
        out = out.rename(columns={"national": "documents"})
    if "month" in out.columns and not _is_text(out["month"]):
        out["month"] = out["month"].astype(str)
    if "date" in out.columns and not _is_text(out["date"]):
        out["date"] = pd.to_datetime(out["date"]).dt.strftime("%Y-%m-%d")
    for col in DIMENSIONS:
        if col in out.columns and not _is_text(out[col]):
            out[col] = out[col].astype(object).where(out[col].notna(), "" if col == "reason" else None)
    if "reason" in out.columns:
        out["reason"] = out["reason"].astype(object).where(out["reason"].notna(), "")
    return out


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype)


def _needs_conversion(name: str, df: pd.DataFrame) -> bool:
    if any(c in df.columns for c in LABELS):
        return True
    for col in ("month", "date", *DIMENSIONS):
        if col in df.columns and not _is_text(df[col]):
            return True
    if "national" in df.columns and name in NATIONAL_AS_DOCUMENTS:
        return True
    return "reason" in df.columns and bool(df["reason"].isna().any())
