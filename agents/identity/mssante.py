"""MSSanté addresses: nominative, organisational and patient mailboxes, and their validation.

Nominative ``prenom.nom@<domain>.mssante.fr`` (Mailiz: ``@medecin.mssante.fr``), organisational
``service@<domain>.mssante.fr``, patient ``<15-character INS>@patient.mssante.fr`` (Mon espace
santé is the operator; domain.md §5). Every domain of the espace de confiance is taken to end in
``mssante.fr`` [I]; the operator white list itself is not modelled here.

Generated addresses are synthetic: they use the reserved ``.test`` top-level domain (RFC 6761),
``<…>@medecin.mssante.test``, ``<INS>@patient.mssante.test``, so that no generated address (and
no valid-key NIR inside one) can reach or name a real mailbox. The checks accept both trees.
"""

from __future__ import annotations

import re
import unicodedata

from agents.identity.nir import is_valid_nir, nir_problems

MSS_ROOT_DOMAIN = "mssante.fr"
PATIENT_DOMAIN = "patient." + MSS_ROOT_DOMAIN
MAILIZ_DOMAIN = "medecin." + MSS_ROOT_DOMAIN
#: the synthetic trust space every generated address lives in (.test is reserved: RFC 6761)
TEST_ROOT_DOMAIN = "mssante.test"
TEST_PATIENT_DOMAIN = "patient." + TEST_ROOT_DOMAIN
TEST_MAILIZ_DOMAIN = "medecin." + TEST_ROOT_DOMAIN
ROOT_DOMAINS = (MSS_ROOT_DOMAIN, TEST_ROOT_DOMAIN)
PATIENT_DOMAINS = (PATIENT_DOMAIN, TEST_PATIENT_DOMAIN)
_LOCAL = re.compile(r"[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def slug(text: str) -> str:
    """Lower-case ASCII form of a name for an address (accents dropped, spaces → '-')."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9.-]+", "-", ascii_text.lower().replace("'", ""))
    return re.sub(r"-{2,}", "-", cleaned).strip("-.")


def operator_domain(name: str, root: str = TEST_ROOT_DOMAIN) -> str:
    """An MSSanté domain for an organisation name, e.g. ``ch-xyz.mssante.test`` (synthetic)."""
    return f"{slug(name)}.{root}"


def nominative_address(given: str, family: str, domain: str = TEST_MAILIZ_DOMAIN) -> str:
    """A professional's personal mailbox ``prenom.nom@domain``."""
    return f"{slug(given)}.{slug(family)}@{domain}"


def organisational_address(service: str, domain: str) -> str:
    """An organisational mailbox such as ``cardiologie@ch-xyz.mssante.fr``."""
    return f"{slug(service)}@{domain}"


def patient_address(ins: str, domain: str = TEST_PATIENT_DOMAIN) -> str:
    """A patient's Mon espace santé mailbox: ``<INS>@patient.mssante.test`` (synthetic; the real
    one is ``@patient.mssante.fr``)."""
    return f"{ins}@{domain}"


def address_kind(address: str) -> str:
    """``patient`` for an MES mailbox, ``professional`` for any other MSSanté address."""
    domain = address.lower().rsplit("@", 1)[-1]
    return "patient" if "@" in address and domain in PATIENT_DOMAINS else "professional"


def mss_address_problems(address: object) -> list[str]:
    """Why an address cannot be used in the MSSanté trust space (empty list when it can)."""
    if not isinstance(address, str) or not address:
        return ["address is empty"]
    if address.count("@") != 1:
        return [f"{address!r} must contain exactly one '@'"]
    local, domain = address.split("@")
    domain = domain.lower()
    problems = []
    if not any(domain == root or domain.endswith("." + root) for root in ROOT_DOMAINS):
        problems.append(f"domain {domain!r} is outside the MSSanté trust space (*.mssante.fr; *.mssante.test when synthetic)")
    elif not all(_LABEL.fullmatch(label) for label in domain.split(".")):
        problems.append(f"domain {domain!r} is not a valid host name")
    if domain in PATIENT_DOMAINS:
        if not is_valid_nir(local):
            why = "; ".join(nir_problems(local))
            problems.append(f"patient address must be <INS>@{domain}: INS {why}")
    elif not _LOCAL.fullmatch(local.lower()):
        problems.append(f"local part {local!r} is not a valid mailbox name")
    return problems


def is_valid_mss_address(address: object) -> bool:
    """True when ``address`` is a well-formed MSSanté address (patient INS key checked)."""
    return not mss_address_problems(address)
