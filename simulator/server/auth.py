"""A simulated Pro Santé Connect: the server's signing key (ES256, generated per server and kept
beside its database, never in the repository) and the bearer tokens it issues and checks, for
synthetic professionals (idNat_PS, profession) and patients (INS).

Tokens are JWTs signed with PyJWT (ES256 over a P-256 key from ``cryptography``). A verified
token is cached until it expires, so a client sending the same token pays the check once.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.core.errors import UsageError

ISSUER = "urn:segur-testbed:pro-sante-connect-simule"
AUDIENCE = "urn:segur-testbed:dmp"
ALGORITHM = "ES256"
DEFAULT_TTL_S = 12 * 3600
MAX_TTL_S = 30 * 24 * 3600
#: TRE_G15 profession codes of the simulation's sectors
PROFESSION_BY_SECTOR = {"gp": "10", "hospital": "10", "biology": "10", "radiology": "10", "pharmacy": "21",
                        "dentist": "40", "midwife": "50", "nurse": "60", "physio": "70", "medico_social": "93"}
PROFESSIONS = {"10": "Médecin", "21": "Pharmacien", "40": "Chirurgien-dentiste", "50": "Sage-femme",
               "60": "Infirmier", "70": "Masseur-kinésithérapeute", "93": "Professionnel du médico-social"}


class TokenError(Exception):
    """A bearer token that cannot be used (the message says why; the server answers 401)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a professional (idNat_PS, profession, and the structure — idNat_Struct —
    it acts for when the structure authenticated it: the DMP's indirect authentication) or a
    patient (INS)."""

    kind: str  # professional | patient
    id: str  # idNat_PS or INS matricule
    profession: str | None = None
    structure: str | None = None  # idNat_Struct (indirect authentication); None: the professional alone

    @property
    def is_professional(self) -> bool:
        return self.kind == "professional"


class Keys:
    """The server's ES256 key pair."""

    def __init__(self, private_pem: bytes):
        from cryptography.hazmat.primitives import serialization

        try:
            self.private = serialization.load_pem_private_key(private_pem, password=None)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"signing key: not a PEM private key ({exc})") from None
        self.public = self.private.public_key()
        der = self.public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = hashlib.sha256(der).hexdigest()[:16]
        self._cache: dict[str, tuple[Principal, float]] = {}

    @classmethod
    def generate(cls) -> Keys:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return cls(pem)

    def pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())

    # -- tokens ---------------------------------------------------------------------------
    def issue(self, principal: Principal, ttl_s: int = DEFAULT_TTL_S) -> str:
        """A signed bearer token for ``principal``, valid ``ttl_s`` seconds."""
        import jwt

        now = int(time.time())
        claims: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": principal.id, "iat": now,
                                  "exp": now + int(ttl_s), "jti": uuid.uuid4().hex, "kind": principal.kind}
        if principal.is_professional:
            claims["idNat_PS"] = principal.id
            claims["profession"] = principal.profession or "10"
            if principal.structure:
                claims["idNat_Struct"] = principal.structure
        else:
            claims["ins"] = principal.id
        return jwt.encode(claims, self.private, algorithm=ALGORITHM, headers={"kid": self.kid})

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; TokenError otherwise (bad signature, expired…)."""
        import jwt

        hit = self._cache.get(token)
        now = time.time()
        if hit is not None and hit[1] > now:
            return hit[0]
        try:
            claims = jwt.decode(token, self.public, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise TokenError("the bearer token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"the bearer token is not valid ({exc})") from None
        kind = claims.get("kind")
        structure = claims.get("idNat_Struct")
        if kind == "professional" and _identifier(claims.get("idNat_PS")) and (
                structure is None or _identifier(structure)):
            principal = Principal("professional", claims["idNat_PS"], str(claims.get("profession") or "10"),
                                  structure)
        elif kind == "patient" and _identifier(claims.get("ins")):
            principal = Principal("patient", claims["ins"])
        else:
            raise TokenError("the bearer token names neither a professional (idNat_PS) nor a patient (ins)")
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[token] = (principal, float(claims["exp"]))
        return principal

    def jwks(self) -> dict[str, Any]:
        """The public key as a JSON Web Key Set (for clients that check tokens themselves)."""
        import json

        from jwt.algorithms import ECAlgorithm

        jwk = json.loads(ECAlgorithm.to_jwk(self.public))
        jwk.update({"kid": self.kid, "use": "sig", "alg": ALGORITHM})
        return {"keys": [jwk]}


def _identifier(value: Any) -> bool:
    """An idNat_PS / idNat_Struct / INS as a token may carry it: printable, short."""
    return isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable()


def load_keys(path: Path) -> Keys:
    """The key at ``path``; UsageError naming the file when it is missing or unreadable."""
    try:
        return Keys(path.read_bytes())
    except FileNotFoundError:
        raise UsageError(f"{path}: no signing key there (start `segur serve` once with the same --data or --db, "
                         "or give --key)") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the signing key ({exc.strerror or exc})") from None


def load_or_create_keys(path: Path) -> Keys:
    """The key at ``path``, generated there (mode 0600, written atomically) when absent."""
    if path.exists():
        return load_keys(path)
    if not path.parent.is_dir():
        raise UsageError(f"--key: folder {path.parent} does not exist")
    keys = Keys.generate()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, keys.pem())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # never replaces a key another process wrote meanwhile
    except FileExistsError:
        return load_keys(path)
    finally:
        tmp.unlink(missing_ok=True)
    return keys
