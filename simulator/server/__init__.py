"""The simulated DMP over the wire: a FHIR R4 document-sharing endpoint (PDSm / MHD ITI-65 /
67 / 68) with a real store, simulated Pro Santé Connect tokens and the DMP's access rules, and
the client that lets a scenario's agents post their documents to any endpoint (``segur emit``).

Modules, one job each: ``config`` (settings), ``schema`` and ``store`` (SQLAlchemy tables and
transactions), ``sql`` (the request path's compiled statements), ``auth`` (keys and bearer
tokens), ``seed`` (patients and professionals from a scenario's world), ``conformance`` (the one adapter to the project's FHIR validator),
``judge`` (the DMP's service rules and the verdict), ``submission`` (what an ITI-65 bundle
holds), ``fhir_http`` (bodies in, FHIR JSON and OperationOutcomes out), ``search`` (ITI-67
parameters), ``capability`` (the CapabilityStatement), ``routes`` and ``app`` (the ASGI
application), ``runner`` (uvicorn), and ``emit_*`` (the emitting client).
"""
