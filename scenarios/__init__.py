"""Scenario files (TOML), their schema and loader, and reference data with provenance."""

from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parent
DATA_DIR = SCENARIO_DIR / "data"

__all__ = ["SCENARIO_DIR", "DATA_DIR"]
