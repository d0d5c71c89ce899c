"""A sample ITI-65 bundle for vendors: one document of the demo territory that the simulated DMP
accepts, rendered by the test-bed's own renderer (so it stays valid as the rules change).

    python examples/iti65_bundle.py > examples/iti65_bundle.json

It is the first general practitioner's document of `segur serve`'s seeded world (scenarios/demo.toml,
its default patients, days and seed): a synthetic patient whose INS is under the INS **test**
OID, with an open Mon espace santé profile, sent by a GP whose Ségur software is installed.
Post it with a token for its author (README, "Post one document"):
``segur token --rpps <the RPPS printed on stderr>``.
"""

import json
import sys

from simulator.server.emit_documents import emissions
from simulator.server.world import run_world


def main() -> None:
    items, _ = emissions(run_world("demo"))
    first = next(e for e in items if e.sector == "gp" and e.expected == "accepted")
    print(f"{first.doc_id}: author idNat_PS {first.author} (RPPS {first.author[1:]})", file=sys.stderr)
    print(json.dumps(first.bundle(), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
