"""`segur validate` throughput: files per second for a 1 MB ITI-65 bundle and a 500-entry
searchset, and the payload tier's ITI-65 bundles per second (rules only, one core).

    python benchmarks/validate.py                 # quick: 5 rounds of each
    python benchmarks/validate.py --rounds 20 --payload 3000

Rates use CPU time of this single process (another busy process does not skew them). The file
rates cover what the command does per file: read, JSON parse, fhir.resources structural parse,
profile recognition, every rule. The payload-tier line is ``render_bundle`` + rules +
``dmp_verdict`` without the structural parse, as the simulated DMP runs it (target ≥ 1,000/s).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.fhir import (  # noqa: E402 - after the path set-up, for a plain checkout
    dmp_verdict,
    render_bundle,
    synthetic_document,
    synthetic_documents,
    validate_resource,
)
from simulator.cli.commands.validate import judge_file  # noqa: E402

TARGET_PER_SECOND = 1_000


def big_iti65(size_bytes: int = 1_000_000) -> dict:
    """A valid ITI-65 bundle whose CDA Binary makes the file about ``size_bytes`` long."""
    bundle = render_bundle(synthetic_document(7))
    entries = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
    raw = base64.b64decode(entries["Binary"]["data"])
    filler = b"<!--" + b"x" * int(size_bytes * 3 / 4) + b"-->"
    raw = raw.replace(b"</ClinicalDocument>", filler + b"</ClinicalDocument>")
    entries["Binary"]["data"] = base64.b64encode(raw).decode("ascii")
    att = entries["DocumentReference"]["content"][0]["attachment"]
    att["size"] = len(raw)
    att["hash"] = base64.b64encode(hashlib.sha1(raw).digest()).decode("ascii")
    return bundle


def searchset(n: int = 500) -> dict:
    """A searchset of ``n`` DocumentReferences (PDSm), as a DMP search would answer."""
    entries = []
    for doc in synthetic_documents(11, n):
        docref = next(
            e["resource"] for e in render_bundle(doc)["entry"]
            if e["resource"]["resourceType"] == "DocumentReference"
        )
        docref["content"][0]["attachment"]["url"] = f"Binary/{docref['id']}"
        entries.append({
            "fullUrl": f"https://dmp.test/fhir/DocumentReference/{docref['id']}",
            "resource": docref,
            "search": {"mode": "match"},
        })
    return {"resourceType": "Bundle", "type": "searchset", "total": n, "entry": entries}


def files_per_second(path: Path, rounds: int) -> tuple[float, int]:
    """Best CPU rate of ``judge_file`` on one file, and its error count (sanity)."""
    judge_file(str(path))  # warm caches
    best = float("inf")
    n_errors = 0
    for _ in range(rounds):
        cpu = time.process_time()
        findings, _, _ = judge_file(str(path))
        best = min(best, time.process_time() - cpu)
        n_errors = sum(f.severity == "error" for f in findings)
    return 1 / best, n_errors


def payload_rate(n: int) -> float:
    """ITI-65 bundles rendered and judged per CPU second (rules, no structural parse)."""
    docs = synthetic_documents(1, n)
    for d in docs[:50]:
        dmp_verdict(validate_resource(render_bundle(d)))
    cpu = time.process_time()
    for d in docs:
        dmp_verdict(validate_resource(render_bundle(d)))
    return n / (time.process_time() - cpu)


def main(argv: list[str] | None = None) -> int:
    """Print the three rates; exit 1 when the payload tier is below its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per file; the best is kept")
    parser.add_argument("--payload", type=int, default=2_000, help="payload-tier bundles (2000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for label, data in (("1 MB ITI-65 bundle", big_iti65()), ("500-entry searchset", searchset())):
            path = Path(tmp) / "input.json"
            path.write_text(json.dumps(data), encoding="utf-8")
            rate, n_errors = files_per_second(path, args.rounds)
            size = path.stat().st_size / 1e6
            print(f"segur validate, {label} ({size:.1f} MB): {rate:,.1f} files/s on one core "
                  f"(CPU time; {n_errors} error findings)")
    rate = payload_rate(args.payload)
    print(f"payload tier: {rate:,.0f} ITI-65 bundles/s rendered + judged on one core "
          f"(target >= {TARGET_PER_SECOND:,}/s)")
    return 0 if rate >= TARGET_PER_SECOND else 1


if __name__ == "__main__":
    sys.exit(main())
