"""The simulated DMP's tables (SQLAlchemy Core): plain tables anyone can read with sqlite3 or
psql — patients and their dated profile states, professionals, submissions, documents,
binaries, the access log and a few server facts. Created on first start.

Dates are ISO-8601 text (``YYYY-MM-DD`` for days, ``YYYY-MM-DDTHH:MM:SSZ`` in UTC for instants)
so that they sort, compare and read the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = "2"  # 2: access_log.actor_structure, author, requests (a store of version 1 is upgraded)
metadata = MetaData()

#: profile states a patient can be in (the simulation's Mon espace santé states)
PROFILE_STATES = ("not_created", "open", "activated", "opposed", "closed")

server_info = Table(
    "server_info", metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)

patients = Table(
    "patients", metadata,
    Column("ins", String(15), primary_key=True),  # INS matricule (NIR or NIA)
    Column("ins_oid", String(200), nullable=False),
    Column("family", Text, nullable=False),
    Column("given", Text, nullable=False),
    Column("sex", String(10), nullable=False),
    Column("birth_date", String(10), nullable=False),
    Column("birth_place", Text, nullable=False),
    Column("profile_state", String(12), nullable=False),  # the latest state (see profile_states)
    Column("gp_id_nat_ps", Text),  # médecin traitant, when the patient has one
    Column("sim_index", Integer),  # row of the patient in the seeding simulation
)

profile_states = Table(
    "profile_states", metadata,
    Column("ins", String(15), ForeignKey("patients.ins"), primary_key=True),
    Column("since", String(10), primary_key=True),  # the state holds from this day on
    Column("state", String(12), nullable=False),
)

professionals = Table(
    "professionals", metadata,
    Column("id_nat_ps", Text, primary_key=True),
    Column("family", Text, nullable=False),
    Column("given", Text, nullable=False),
    Column("profession", Text, nullable=False),  # TRE_G15 code (10 médecin, 21 pharmacien…)
    Column("sector", Text),
    Column("id_nat_struct", Text),
    Column("organisation", Text),
    Column("segur_software_since", String(10)),  # NULL: still on pre-Ségur software
)

submissions = Table(
    "submissions", metadata,
    Column("id", String(200), primary_key=True),  # the SubmissionSet List's logical id
    Column("received", Text, nullable=False),
    Column("submitter", Text, nullable=False),  # idNat_PS of the token's professional
    Column("patient_ins", String(15), ForeignKey("patients.ins"), nullable=False),
    Column("submitted", Text),  # List.date as sent
    Column("resource", Text, nullable=False),  # the List, as stored
)

binaries = Table(
    "binaries", metadata,
    Column("id", String(200), primary_key=True),
    Column("content_type", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha1", Text, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

documents = Table(
    "documents", metadata,
    Column("id", String(200), primary_key=True),  # the DocumentReference's logical id
    Column("submission_id", String(200), ForeignKey("submissions.id"), nullable=False),
    Column("patient_ins", String(15), ForeignKey("patients.ins"), nullable=False),
    Column("unique_id", Text, nullable=False, unique=True),  # masterIdentifier
    Column("status", String(16), nullable=False),  # current | superseded
    Column("type_system", Text),
    Column("type_code", Text),
    Column("class_code", Text),
    Column("date", Text),  # DocumentReference.date, UTC instant
    Column("author_id_nat_ps", Text),
    Column("confidentiality", Text, nullable=False),  # codes, space-separated
    Column("hidden_from_professionals", Boolean, nullable=False),  # MASQUE_PS
    Column("hidden_from_patient", Boolean, nullable=False),  # INVISIBLE_PATIENT
    Column("replaces", Text),
    Column("binary_id", String(200), ForeignKey("binaries.id")),
    Column("content_sha1", Text, nullable=False),  # of the whole submitted document
    Column("version", Integer, nullable=False),
    Column("last_updated", Text, nullable=False),
    Column("resource", Text, nullable=False),  # the DocumentReference JSON, as served
)
Index("documents_patient", documents.c.patient_ins, documents.c.date)

access_log = Table(
    "access_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Text, nullable=False),  # UTC instant with microseconds
    Column("actor_kind", String(12), nullable=False),  # professional | patient | anonymous
    Column("actor", Text, nullable=False),  # idNat_PS, INS, or '-': the submitter
    Column("actor_structure", Text),  # idNat_Struct the token's professional acts for (indirect authentication)
    Column("action", Text, nullable=False),  # provide | search | read | retrieve
    Column("target", Text, nullable=False),  # resource or query
    Column("patient_ins", String(15)),
    Column("status", Integer, nullable=False),  # HTTP status answered
    Column("outcome", Text, nullable=False),  # accepted, a reason, granted, denied…
    Column("author", Text),  # provide: the documents' authors (idNat_PS), space-separated
    Column("requests", Integer, nullable=False, server_default="1"),  # >1: anonymous refusals counted in one row
)
Index("access_log_patient", access_log.c.patient_ins)

__all__ = [
    "PROFILE_STATES", "SCHEMA_VERSION", "access_log", "binaries", "documents", "metadata",
    "patients", "professionals", "profile_states", "server_info", "submissions",
]
