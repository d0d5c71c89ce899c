"""`segur token`: a bearer token of the simulated Pro Santé Connect, signed with the server's key,
for a synthetic professional (--rpps / --id-nat-ps) or a patient (--ins)."""

from __future__ import annotations

import argparse

from simulator.cli.commands.serve import add_store_options
from simulator.core.errors import UsageError
from simulator.server.config import DEFAULT_DB, ServerConfig

HELP = "print a bearer token for a synthetic professional or patient"
DESCRIPTION = ("Print a signed bearer token (JWT, ES256) the simulated DMP accepts: for a professional "
               "(--rpps 11 digits, or --id-nat-ps) or for a patient (--ins, 15 characters). Uses the "
               "server's key: in the data folder (--data), beside --db, or --key.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `segur token`."""
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--rpps", help="RPPS number (11 digits); idNat_PS = 8 + RPPS")
    who.add_argument("--id-nat-ps", help="idNat_PS (8 + RPPS, 0 + ADELI…)")
    who.add_argument("--ins", help="the patient's INS matricule (15 characters)")
    p.add_argument("--structure", default=None,
                   help="idNat_Struct of the structure the professional acts for (the DMP's indirect "
                        "authentication: the structure may then file documents of its professionals)")
    p.add_argument("--profession", default="10", help="TRE_G15 profession code of a professional (default 10, médecin)")
    add_store_options(p, f"the server's store (default DATA/{DEFAULT_DB}): its key is beside it",
                      "signing key file (instead of the one beside --db)")
    p.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds (default 43200)")


def handle(args: argparse.Namespace) -> int:
    # loaded when the command runs: `segur --help` and the other commands start without it
    import re

    from agents.identity import check_id_nat_ps, nir_problems
    from simulator.server.auth import MAX_TTL_S, PROFESSIONS, Principal, load_keys

    if not 60 <= args.ttl <= MAX_TTL_S:
        raise UsageError(f"--ttl: between 60 and {MAX_TTL_S} seconds (got {args.ttl})")
    if args.ins is not None:
        if args.structure is not None:
            raise UsageError("--structure: a patient's token acts for no structure")
        problems = nir_problems(args.ins)
        if problems:
            raise UsageError(f"--ins: {args.ins!r} is not a valid INS matricule ({problems[0]})")
        principal = Principal("patient", args.ins)
    else:
        if args.rpps is not None:
            if not re.fullmatch(r"\d{11}", args.rpps):
                raise UsageError(f"--rpps: 11 digits expected (got {args.rpps!r})")
            id_nat_ps = "8" + args.rpps
        else:
            id_nat_ps = args.id_nat_ps
        check = check_id_nat_ps(id_nat_ps)
        if check.error:
            raise UsageError(f"--id-nat-ps: {id_nat_ps!r} is not an idNat_PS ({check.error})")
        if args.profession not in PROFESSIONS:
            raise UsageError(f"--profession: one of {', '.join(sorted(PROFESSIONS))} (got {args.profession!r})")
        if args.structure is not None and not re.fullmatch(r"[0-9A-Za-z]{1,20}", args.structure):
            raise UsageError(f"--structure: an idNat_Struct is 1 to 20 letters or digits (got {args.structure!r})")
        principal = Principal("professional", id_nat_ps, args.profession, args.structure)
    config = ServerConfig.build(args.db, args.key, args.data, scenario=None)
    print(load_keys(config.key_path).issue(principal, args.ttl))
    return 0
