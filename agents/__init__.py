"""The actors of the ecosystem: patients, producers (one module per sector), services,
identities and documents (catalogue, FHIR rendering, conformance rules)."""
