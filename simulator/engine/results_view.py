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

from agents.catalogue import load_catalogue
from simulator.core.outcomes import CHANNELS, OUTCOMES

DIMENSIONS = ("sector", "doc_type", "channel", "outcome", "reason", "state", "departement", "flow", "event", "route")
LABELS = ("sector_label", "doc_type_label")
# tables whose national estimate is called ``documents`` in the files
NATIONAL_AS_DOCUMENTS = ("documents", "territory")


def typed(name: str, df: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """The API form of table ``name`` (a new frame; ``df`` is left as it is)."""
    out = df.copy()
    if "month" in out.columns:
        out["month"] = _by_value(out["month"], lambda v: pd.PeriodIndex(v, freq="M"))
    if "date" in out.columns:
        out["date"] = _by_value(out["date"], pd.to_datetime)
    if name in NATIONAL_AS_DOCUMENTS and "documents" in out.columns:
        out = out.rename(columns={"documents": "national"})
    for col in DIMENSIONS:
        if col in out.columns:
            order = {"sector": manifest.get("sectors"), "channel": list(CHANNELS),
                     "outcome": list(dict.fromkeys(o for o, _ in OUTCOMES))}.get(col)
            out[col] = _categorical(out[col], order, missing="" if col == "reason" else None)
    if "sector" in out.columns:
        labels = {s: (v or {}).get("label") or s for s, v in manifest.get("scenario", {}).get("sectors", {}).items()}
        out.insert(out.columns.get_loc("sector") + 1, "sector_label", _relabel(out["sector"], labels))
    if "doc_type" in out.columns:
        names = {t.code: t.label_fr for t in load_catalogue()}
        out.insert(out.columns.get_loc("doc_type") + 1, "doc_type_label", _relabel(out["doc_type"], names))
    return out


def _by_value(s: pd.Series, convert: Any) -> pd.Series:
    """``convert`` applied once per distinct value (a month column has a few dozen)."""
    codes, uniques = pd.factorize(s.astype(str))
    return pd.Series(convert(list(uniques)).take(codes), index=s.index, name=s.name)


def _categorical(s: pd.Series, order: list[str] | None, missing: str | None) -> pd.Series:
    values = s.astype(object)
    if missing is not None:
        values = values.where(values != missing, None)
    present = pd.unique(values.dropna())
    cats = ([c for c in order if c in set(present)] + sorted(set(present) - set(order))) if order else sorted(present)
    return pd.Series(pd.Categorical(values, categories=cats), index=s.index, name=s.name)


def _relabel(s: pd.Series, labels: dict[str, str]) -> pd.Series:
    """A categorical column's labels (same codes; distinct labels stay distinct)."""
    cats = list(s.cat.categories)
    named = [labels.get(c, c) for c in cats]
    if len(set(named)) != len(named):
        named = [f"{n} ({c})" if named.count(n) > 1 else n for n, c in zip(named, cats, strict=True)]
    return pd.Series(pd.Categorical.from_codes(s.cat.codes, categories=named), index=s.index)


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
