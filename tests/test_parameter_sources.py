"""docs/parameters.md: every parameter has a unit (schema) and every value the shipped scenarios
set has a source mark ([V] checked in a source, [I] assumption) beside it or on its table."""

from __future__ import annotations

from scenarios import docs

# Values of scenarios/baseline.toml and wave2_base.toml without a mark: none. A new value without
# a mark ([V] with its source, [I] for an assumption) makes the test fail.
KNOWN_STRAGGLERS = 0


def test_every_schema_field_has_a_unit():
    missing = [f"{title}.{name}" for title, model in docs.SECTIONS for name, field in model.model_fields.items()
               if not (isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("unit"))
               and not (isinstance(field.annotation, type) and issubclass(field.annotation, docs.BaseModel))]
    assert not missing, f"schema fields without unit(...): {missing}"


def test_sources_are_read_from_the_value_or_its_table(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        "[population]\n"
        "size = 68_000_000   # persons · INSEE [V]\n"
        "insi_found = 0.93\n"
        '[sectors.gp.documents]   # documents/consultation [I]\n'
        '"57833-6" = 0.75        # prescription\n'
        "[[interventions]]\n"
        "date = 2023-10-01\n"
        'label = "DMP feeding needs a qualified INS [V] # not a comment"\n',
        encoding="utf-8")
    got = {k: note for k, _v, note in docs.value_sources(path)}
    assert got["population.size"] == "persons · INSEE [V]"
    assert got["population.insi_found"] == ""  # no mark: reported
    assert got["sectors.gp.documents.57833-6"] == "documents/consultation [I]"  # its table's mark
    assert "[V]" in got["interventions[0].date"]  # the intervention's label
    assert docs.missing_sources([path]) == ["s.toml: population.insi_found"]


def test_shipped_values_carry_a_source_mark():
    missing = docs.missing_sources()
    assert len(missing) <= KNOWN_STRAGGLERS, (
        f"{len(missing)} values of the shipped scenarios have no [V] / [I] mark (at most {KNOWN_STRAGGLERS} known); "
        f"new ones among: {missing[-10:]}")


def test_parameters_doc_lists_each_shipped_value_with_its_source():
    text = docs.render()
    assert "## Sources of the shipped values" in text
    assert "| `population.size` | `68_000_000` | persons · INSEE: 68.37M" in text
