"""The request path's fast parts, without a server: statements compiled once and run on the
driver's cursor, write transactions (whole or nothing, one writer at a time across stores on
one SQLite file, as `segur serve --workers N` has), the answers' JSON, and the conformance
rules still parsing every resource of a bundle on every call."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import bindparam, func, insert, select

from simulator.server import schema as S
from simulator.server.config import ServerConfig
from simulator.server.conformance import check_resource
from simulator.server.fhir_http import dumps
from simulator.server.sql import Sql, Tx
from simulator.server.store import Store, log_access

_COUNT_LOG = Sql(select(func.count()).select_from(S.access_log))
_INSERT_INFO = Sql(insert(S.server_info).values(key=bindparam("key"), value=bindparam("value")))
_INFO = Sql(select(S.server_info.c.value).where(S.server_info.c.key == bindparam("key")).limit(1))


@pytest.fixture
def store(tmp_path):
    s = Store(ServerConfig.build(str(tmp_path / "dmp.sqlite"), key=str(tmp_path / "k"), scenario=None))
    s.create_schema()
    yield s
    s.dispose()


def _log(tx: Tx, i: int) -> None:
    log_access(tx, actor_kind="professional", actor=f"pro-{i}", action="provide", target="-",
               patient_ins=None, status=200, outcome="accepted")


def test_statements_compile_to_each_drivers_named_parameters():
    sqlite_text, defaults = _INFO.text("sqlite")
    pg_text, _ = _INFO.text("postgresql")
    assert ":key" in sqlite_text and "%(key)s" in pg_text
    assert defaults and all(v is not None for v in defaults.values())  # the LIMIT's value travels
    assert _INFO.text("sqlite") is _INFO.text("sqlite")  # compiled once


def test_a_transaction_is_stored_whole_or_not_at_all(store):
    with store.transaction() as tx:
        tx.many(_INSERT_INFO, [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
        _log(tx, 0)
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.run(_INSERT_INFO, {"key": "c", "value": "3"})
        _log(tx, 1)
        raise RuntimeError("midway")
    with store.transaction() as tx:
        assert tx.scalar(_INFO, {"key": "b"}) == "2"
        assert tx.first(_INFO, {"key": "c"}) is None
        assert tx.scalar(_COUNT_LOG, {}) == 1


def test_stores_sharing_one_file_write_in_turn(tmp_path, store):
    """Two stores on one SQLite file (two worker processes' worth), eight threads each: every
    transaction commits, none is lost or fails on a busy database."""
    other = Store(store.config)
    assert store._lock_path is not None and store._lock_path.name == "dmp.sqlite.lock"
    errors: list[BaseException] = []

    def write(s: Store, base: int) -> None:
        try:
            for i in range(25):
                with s.transaction() as tx:
                    _log(tx, base + i)
                    tx.run(_INSERT_INFO, {"key": f"k{base + i}", "value": "x"})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, 100 * n)) for n, s in enumerate([store, other] * 8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    other.dispose()
    assert errors == []
    with store.transaction() as tx:
        assert tx.scalar(_COUNT_LOG, {}) == 16 * 25


def test_answers_are_the_standard_librarys_json_faster():
    data = {"resourceType": "Bundle", "entry": [{"fullUrl": "urn:uuid:1", "n": 1.5, "ok": True,
                                                  "text": "Ségur — dossier"}], "total": 2 ** 40}
    assert json.loads(dumps(data)) == data
    assert dumps(data).decode("utf-8") == json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    big = {"valueInteger": 2 ** 70}  # beyond orjson: the standard library writes it
    assert json.loads(dumps(big)) == big


def test_structural_parse_still_judges_every_resource_of_a_bundle():
    """The R4B parse of each entry's resource refuses what is not FHIR, on every call (not only
    the first: nothing about the parse is cached between submissions)."""
    from tests.support_server import bundle_for

    patient = SimpleNamespace(ins="279035121518989", ins_oid="1.2.250.1.213.1.4.10", family="DURAND",
                              given="MARIE", birth_date="1979-03-05", sex="female", birth_place="35238")
    author = SimpleNamespace(id_nat_ps="899700000017", family="MARTIN", given="PAUL",
                             id_nat_struct="1350000001", organisation="CH de Rennes")
    good = bundle_for(patient, author)
    assert not [f for f in check_resource(good) if f.rule_id == "STR-001"]
    for _ in range(2):  # the second call is judged like the first
        broken = json.loads(json.dumps(good))
        doc = next(e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "DocumentReference")
        doc["content"][0]["attachment"]["size"] = "not a number"
        doc["notAnElement"] = True
        paths = [f.path for f in check_resource(broken) if f.rule_id == "STR-001"]
        assert any("attachment" in p for p in paths) and any("notAnElement" in p for p in paths), paths
