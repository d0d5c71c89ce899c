"""The server's CapabilityStatement (``GET /fhir/metadata``): what it implements (MHD Document
Responder: ITI-65, ITI-67, ITI-68), its search parameters and how it authenticates."""

from __future__ import annotations

from typing import Any

from simulator.server.search import PARAMETERS


def capability_statement(base: str, software_version: str, seeded: str) -> dict[str, Any]:
    """The CapabilityStatement as FHIR JSON (checked with fhir.resources by the tests)."""
    search = [{"name": n, "type": "token" if n not in ("date", "_count", "_offset") else
               ("date" if n == "date" else "number")} for n in PARAMETERS]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-30",
        "kind": "instance",
        "name": "SegurTestbedSimulatedDMP",
        "title": "Simulated DMP / Mon espace santé (segur-testbed)",
        "description": ("A simulated DMP for tests: synthetic patients only (INS test OID), seeded from "
                        f"{seeded}. Submissions are judged by the test-bed's conformance rules and the DMP's "
                        "service rules; refusals come as OperationOutcomes naming the rule ids."),
        "software": {"name": "segur-testbed", "version": software_version},
        "implementation": {"description": "segur serve", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "instantiates": ["https://profiles.ihe.net/ITI/MHD/CapabilityStatement/IHE.MHD.DocumentResponder"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": False,
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                         "code": "OAuth"}], "text": "Bearer tokens of a simulated Pro Santé Connect "
                                                                    "(segur token)"}],
            },
            "resource": [
                {"type": "DocumentReference", "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "searchParam": search},
                {"type": "Binary", "interaction": [{"code": "read"}]},
                {"type": "List", "interaction": [{"code": "create"}]},
            ],
            "interaction": [{"code": "transaction", "documentation": "ITI-65 Provide Document Bundle (PDSm)"}],
        }],
    }
