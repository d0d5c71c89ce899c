"""`segur demo`: the narration names only files that exist and that pass `segur validate` (or
fail it with the rules the narration states); every document of the run is a file; the small
world's graph carries the run's volumes; the recorder changes no draw; bad options exit 2."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from agents.fhir import validate_message
from simulator.cli import main

PATH = re.compile(r"(\S+?/(?:dmp|mssante)/\S+?\.json)")
CLAUSE = re.compile(r"segur validate ?: (no error|aucune erreur|[A-Z]+-\d+(?:, [A-Z]+-\d+)*)")
ANSI = re.compile(r"\x1b\[")


def _demo(out: Path, *extra: str) -> tuple[int, str]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["demo", "--out", str(out), "--days", "2", "--patients", "2000", *extra])
    return code, buf.getvalue()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo-output"
    code, text = _demo(out)
    assert code == 0
    return out, text


def test_narration_is_plain_text_when_piped_and_tells_each_day_in_french(demo):
    _, text = demo
    assert not ANSI.search(text)
    assert "Jour 1 · lundi 6 janvier 2025" in text and "Jour 2 · mardi 7 janvier 2025" in text
    assert "Jour 3" not in text
    for english in ("Day 1", "Rules in force", "Following:", "accepted, now in", "open: "):
        assert english not in text, english


def test_english_on_the_switch_names_the_same_files_and_verdicts(demo, tmp_path):
    out, french = demo
    code, english = _demo(tmp_path / "demo-output", "--lang", "en")
    assert code == 0
    assert "Day 1 · Monday 6 January 2025" in english and "Jour" not in english
    assert "Rules in force from the first day: require_qualified_identity" in english

    def named(text: str, root: Path) -> list[tuple[str, ...]]:
        return [tuple(PATH.findall(x.replace(str(root), "OUT"))) + tuple(c.replace("aucune erreur", "no error") for c in CLAUSE.findall(x))
                for x in text.splitlines() if PATH.search(x)]

    assert named(english, tmp_path / "demo-output") == named(french, out)


def test_a_rule_that_is_only_an_assumption_is_said_so(demo):
    """The demo's refusal of pre-Ségur software has no source (its label says [I]) and made half of
    its refusals: the narration names it a modelling assumption, and so does each refusal it causes."""
    from simulator.demo.teaching import _rule_text
    from simulator.engine.scenario import load_scenario

    sc = load_scenario("scenarios/demo.toml")
    labels = {iv.rule: iv.label for iv in sc.interventions if iv.kind == "rule"}
    _, text = demo
    rules_line = next(x for x in text.splitlines() if x.startswith("Règles en vigueur dès le premier jour"))
    for rule, label in labels.items():
        said = "hypothèse de modélisation" if "[I]" in label else "établie par les sources"
        assert f"({rule}, {said}" in rules_line, (rule, rules_line)
    assert "[I]" in labels["reject_legacy_software"] and "[V]" in labels["require_qualified_identity"]
    refusals = [x for x in text.splitlines() if "REFUSÉ — software_not_installed" in x]
    assert all("hypothèse de modélisation" in x for x in refusals)
    assert "modelling assumption" in _rule_text("reject_legacy_software", "what-if [I]", "en")
    assert "established" in _rule_text("require_qualified_identity", "sourced [V]", "en")


def test_every_named_file_exists_and_validates_as_the_narration_says(demo, capsys):
    out, text = demo
    bundles: dict[str, set[str]] = {}
    messages: set[str] = set()
    for line in text.splitlines():
        paths = PATH.findall(line)
        dmp = [p for p in paths if "/dmp/" in p]
        messages.update(p for p in paths if "/mssante/" in p)
        if dmp:
            clauses = CLAUSE.findall(line)
            assert len(dmp) == 1 and len(clauses) == 1, line
            stated = set() if clauses[0] in ("no error", "aucune erreur") else set(clauses[0].split(", "))
            assert bundles.setdefault(dmp[0], stated) == stated, f"{dmp[0]}: told two different verdicts"
    assert bundles, "the narration names no FHIR bundle"
    for path in [*bundles, *messages]:
        assert Path(path).is_file(), f"narration names a missing file: {path}"
        assert path.startswith(str(out)), path
    for path, stated in bundles.items():
        code = main(["validate", "--format", "json", path])
        outcome = json.loads(capsys.readouterr().out)  # one file: its OperationOutcome
        errors = {i["details"]["coding"][0]["code"] for i in outcome.get("issue", []) if i["severity"] == "error"}
        assert code == (1 if stated else 0), (path, errors)
        assert errors == stated, path
    for path in messages:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        assert [f for f in validate_message(data) if f.severity == "error"] == [], path


def test_a_rejection_for_a_non_qualified_identity_is_narrated(demo):
    _, text = demo
    lines = [x for x in text.splitlines() if "REFUSÉ — identity_not_qualified" in x]
    assert lines and all("IDV-001" in x for x in lines)
    assert all("seule une identité QUAL peut alimenter le DMP" in x for x in lines)


def test_every_document_of_the_run_is_a_file(demo):
    out, _ = demo
    docs = pd.read_csv(out / "results" / "documents.csv", keep_default_na=False)
    dmp = docs[docs["channel"] == "dmp"]["count"].sum()
    mss = docs[docs["channel"] != "dmp"]["count"].sum()
    assert len(list((out / "dmp").rglob("*.json"))) == dmp > 0
    assert len(list((out / "mssante").rglob("*.json"))) == mss > 0
    manifest = json.loads((out / "demo.json").read_text(encoding="utf-8"))
    assert manifest["agreements"] == manifest["dmp_documents"] == dmp  # FHIR verdict = simulated DMP's


def test_the_small_world_graph_carries_the_runs_volumes(demo):
    import networkx as nx

    from reports.network import channel_totals

    out, _ = demo
    G = nx.read_graphml(out / "network" / "network.graphml")
    docs = pd.read_csv(out / "results" / "documents.csv", keep_default_na=False)
    accepted = docs[(docs["channel"] == "dmp") & (docs["outcome"] == "accepted")]["count"].sum()
    delivered = docs[docs["outcome"] == "delivered"].groupby("channel")["count"].sum()
    for leg in (1, 2):
        totals = channel_totals(G, leg)
        assert totals["dmp"] == accepted
        for ch, n in delivered.items():
            assert totals[ch] == n, (ch, leg)
    kinds = {d["kind"] for _, d in G.nodes(data=True)}
    assert {"producer", "service", "operator", "patients"} <= kinds


def test_the_recorder_changes_no_draw():
    import pandas.testing as pdt

    import simulator
    from simulator.demo.world import DemoSimulation

    a = simulator.run("scenarios/demo.toml", seed=4)
    sim = DemoSimulation("scenarios/demo.toml", seed=4)
    b = sim.run()
    for name in a.tables:
        pdt.assert_frame_equal(a.tables[name], b.tables[name])
    judged = sim.recorder.dmp_rows()["day"].size
    assert judged == a.to_df("documents").query("channel == 'dmp'")["count"].sum()


def test_same_seed_same_narration(demo, tmp_path):
    out, text = demo
    code, again = _demo(tmp_path / "demo-output")
    assert code == 0
    assert again.replace(str(tmp_path / "demo-output"), "OUT") == text.replace(str(out), "OUT")


@pytest.mark.parametrize("args, message", [
    (["--patients", "5"], "--patients"),
    (["--days", "0"], "--days"),
    (["--pace", "-1"], "--pace"),
    (["--lang", "de"], "--lang"),
    (["--scenario", "baseline"], "run.departements"),
])
def test_bad_options_exit_2_with_one_line(args, message, tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "o").exists()


def test_a_foreign_output_folder_is_left_alone(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    assert main(["demo", "--out", str(out), "--days", "2"]) == 2
    assert "not a demo output folder" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_unknown_departement_is_a_clear_scenario_error(tmp_path):
    from simulator.core.errors import ScenarioError
    from simulator.engine.scenario import load_scenario

    src = Path("scenarios/demo.toml").read_text(encoding="utf-8").replace('departements = ["35"]', 'departements = ["36B"]')
    bad = tmp_path / "bad.toml"
    bad.write_text(src, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"run\.departements: '36B' is not a département"):
        load_scenario(bad)
