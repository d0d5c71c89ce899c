"""The server's CapabilityStatement (``GET /fhir/metadata``): the two MHD actors it plays — Document
Recipient (ITI-65) and Document Responder (ITI-67, ITI-68) — the MHD and ANS PDSm profiles it
takes, its search parameters with their definitions (as MHD's own CapabilityStatement
IHE.MHD.DocumentResponder names them), and how it authenticates."""

from __future__ import annotations

from typing import Any

from simulator.server.search import EXTRA_PARAMETERS, MHD_PARAMETERS

MHD = "https://profiles.ihe.net/ITI/MHD"
PDSM = "https://interop.esante.gouv.fr/ig/fhir/pdsm"
ACTORS = [f"{MHD}/CapabilityStatement/IHE.MHD.DocumentRecipient",
          f"{MHD}/CapabilityStatement/IHE.MHD.DocumentResponder"]
IMPLEMENTATION_GUIDES = [f"{MHD}/ImplementationGuide/ihe.iti.mhd", f"{PDSM}/ImplementationGuide/ans.fhir.fr.pdsm"]
CORE = "http://hl7.org/fhir/SearchParameter"
#: the definition of each search parameter (None: a chain, defined by the referenced resource's own)
DEFINITIONS = {
    "patient": f"{CORE}/clinical-patient", "patient.identifier": None, "creation":
        f"{MHD}/SearchParameter/DocumentReference-Creation", "author.given": None, "author.family": None,
    "category": f"{CORE}/DocumentReference-category", "type": f"{CORE}/clinical-type",
    "setting": f"{CORE}/DocumentReference-setting", "period": f"{CORE}/DocumentReference-period",
    "facility": f"{CORE}/DocumentReference-facility", "event": f"{CORE}/DocumentReference-event",
    "security-label": f"{CORE}/DocumentReference-security-label", "format": f"{CORE}/DocumentReference-format",
    "related": f"{CORE}/DocumentReference-related", "status": f"{CORE}/DocumentReference-status",
    "identifier": f"{CORE}/clinical-identifier", "date": f"{CORE}/DocumentReference-date",
    "_id": f"{CORE}/Resource-id", "_lastUpdated": f"{CORE}/Resource-lastUpdated",
}
PROFILES = {
    "DocumentReference": [f"{MHD}/StructureDefinition/IHE.MHD.Minimal.DocumentReference",
                          f"{MHD}/StructureDefinition/IHE.MHD.Comprehensive.DocumentReference",
                          f"{PDSM}/StructureDefinition/pdsm-comprehensive-document-reference"],
    "List": [f"{MHD}/StructureDefinition/IHE.MHD.Minimal.SubmissionSet",
             f"{MHD}/StructureDefinition/IHE.MHD.Comprehensive.SubmissionSet",
             f"{PDSM}/StructureDefinition/pdsm-submissionset-comprehensive"],
    "Bundle": [f"{MHD}/StructureDefinition/IHE.MHD.Comprehensive.ProvideBundle",
               f"{PDSM}/StructureDefinition/pdsm-comprehensive-provide-document-bundle",
               f"{PDSM}/StructureDefinition/pdsm-simplified-publish"],
}


def search_params() -> list[dict[str, Any]]:
    """The DocumentReference search parameters: MHD's 16, then the others this server takes."""
    out = []
    for name, kind in {**MHD_PARAMETERS, **EXTRA_PARAMETERS}.items():
        p: dict[str, Any] = {"name": name, "type": kind}
        if DEFINITIONS.get(name):
            p["definition"] = DEFINITIONS[name]
        if name in MHD_PARAMETERS:
            p["documentation"] = "IHE MHD ITI-67"
        out.append(p)
    return out


def capability_statement(base: str, software_version: str, seeded: str) -> dict[str, Any]:
    """The CapabilityStatement as FHIR JSON (checked with fhir.resources by the tests)."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-07",
        "kind": "instance",
        "name": "SegurTestbedSimulatedDMP",
        "title": "Simulated DMP / Mon espace santé (segur-testbed)",
        "description": ("A simulated DMP for tests: synthetic patients only (INS test OID), seeded from "
                        f"{seeded}. IHE MHD Document Recipient (ITI-65) and Document Responder (ITI-67, "
                        "ITI-68), ANS PDSm. Submissions are judged by the test-bed's conformance rules and the "
                        "DMP's service rules; refusals come as OperationOutcomes naming the rule ids and, where "
                        "XDS has one, the XDS error code."),
        "software": {"name": "segur-testbed", "version": software_version},
        "implementation": {"description": "segur serve", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "instantiates": ACTORS,
        "implementationGuide": IMPLEMENTATION_GUIDES,
        "rest": [{
            "mode": "server",
            "documentation": ("Searches are lenient (unknown parameters are ignored and reported in an "
                              "OperationOutcome entry with search.mode=outcome) unless the request says "
                              "Prefer: handling=strict (400). Reads answer ETag and Last-Modified and honour "
                              "If-None-Match / If-Modified-Since (304)."),
            "security": {
                "cors": False,
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                         "code": "OAuth"}], "text": "Bearer tokens of a simulated Pro Santé Connect "
                                                                    "(segur token)"}],
            },
            "resource": [
                {"type": "DocumentReference", "supportedProfile": PROFILES["DocumentReference"],
                 "interaction": [{"code": "read"}, {"code": "search-type", "documentation": "ITI-67 (GET or POST "
                                                                                           "_search)"}],
                 "versioning": "versioned", "readHistory": False, "conditionalRead": "full-support",
                 "searchParam": search_params()},
                {"type": "Binary", "interaction": [{"code": "read", "documentation": "ITI-68 Retrieve Document"}],
                 "conditionalRead": "full-support"},
                {"type": "List", "supportedProfile": PROFILES["List"], "interaction": [{"code": "create"}]},
                {"type": "Bundle", "supportedProfile": PROFILES["Bundle"]},
            ],
            "interaction": [{"code": "transaction", "documentation": f"ITI-65 Provide Document Bundle: {p}"}
                            for p in PROFILES["Bundle"]],
        }],
    }
