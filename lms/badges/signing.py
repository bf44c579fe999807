"""VC-JWT signing with the issuer's Ed25519 key, and the documents that publish its keys.

The compact JWS follows OB 3.0's JSON Web Token proof format: header alg EdDSA, typ JWT and
a kid that is a DID URL (`did:web:...#<thumbprint>`), dereferenced through the did:web
document; the same keys are also in the JWK Set.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from joserfc import jws

from lms.badges.keys import SigningKey

ALGORITHM = "EdDSA"
DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"]


def did_web(public_url: str) -> str:
    """The did:web for the tracker's public address (port escaped, path as segments)."""
    parts = urlsplit(public_url)
    segments = [quote(part, safe="") for part in parts.path.strip("/").split("/") if part]
    return ":".join(["did:web", quote(parts.netloc, safe="")] + segments)


def sign(payload: Mapping[str, Any], key: SigningKey, did: str) -> str:
    """The payload as a compact JWS signed with the key (kid: the key's DID URL)."""
    header = {"alg": ALGORITHM, "kid": f"{did}#{key.kid}", "typ": "JWT"}
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    with warnings.catch_warnings():
        # RFC 9864 names "Ed25519" as the fully specified successor of "EdDSA"; the wallets
        # and Open Badges verifiers that read these credentials know "EdDSA" (same signature).
        warnings.filterwarnings("ignore", message="EdDSA is deprecated")
        return jws.serialize_compact(header, body, key.key, algorithms=[ALGORITHM])


def jwk_set(public_jwks: tuple[dict[str, str], ...]) -> dict[str, Any]:
    """The JWK Set of every key, current and retired (public parts only)."""
    return {"keys": [dict(jwk) for jwk in public_jwks]}


def did_document(did: str, public_jwks: tuple[dict[str, str], ...]) -> dict[str, Any]:
    """The did:web document: one JsonWebKey verification method per key."""
    methods = [
        {
            "id": f"{did}#{jwk['kid']}",
            "type": "JsonWebKey",
            "controller": did,
            "publicKeyJwk": {k: jwk[k] for k in ("kty", "crv", "x", "kid")},
        }
        for jwk in public_jwks
    ]
    ids = [method["id"] for method in methods]
    return {
        "@context": DID_CONTEXTS,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": ids,
    }
