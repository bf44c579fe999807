"""Open Badges for certificates: the signed credential, the status lists, the issuer's keys.

The public face of the badges feature. Credentials are signed when asked for (Ed25519 takes
well under a millisecond) from the certificate's frozen content, so nothing is stored but the
status entry; a credential fetched after a key rotation is signed by the new key, and one
fetched before still verifies because retired public keys stay published.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.badges import credential as vc
from lms.badges.keys import Keyring, ensure_signing_key, keys_folder
from lms.badges.models import CredentialStatus
from lms.badges.signing import did_document, did_web, jwk_set, sign
from lms.badges.status import (
    ListState,
    encode_list,
    highest_list,
    index_in_list,
    list_number,
    list_state,
    mark_revoked,
    published_number,
)
from lms.badges.subscriptions import EMAIL_SETTING
from lms.catalog.services import programme_settings
from lms.certificates.api import Certificate, normalise_code
from lms.errors import NotFound

MEDIA_TYPE = "application/vc+jwt"

__all__ = [
    "MEDIA_TYPE",
    "SignedCredential",
    "SignedStatusList",
    "credential_for_code",
    "did_json",
    "jwks_json",
    "keyring",
    "mark_revoked",
    "status_list",
    "signed_status_list",
    "status_list_etag",
]


def keyring() -> Keyring:
    """The issuer's keys (the first signing key is made when the instance has none)."""
    return ensure_signing_key(keys_folder(current_app.config["LMS_INSTANCE_PATH"]))


def _public_base() -> str:
    """The tracker's public address without a trailing slash."""
    return current_app.config["LMS_PUBLIC_URL"].rstrip("/")


def issuer_did() -> str:
    """The issuer's did:web, from the public address."""
    return did_web(_public_base())


def _absolute(endpoint: str, **values: Any) -> str:
    """An endpoint's absolute address at the public URL (inside a request)."""
    return _public_base() + url_for(endpoint, **values)


def _issuer(content: Mapping[str, Any], settings: Mapping[str, Any]) -> vc.Issuer:
    """The issuer profile: the name and address the certificate printed, the e-mail set now."""
    address = content.get("provider_address") or []
    if isinstance(address, str):
        address = [line.strip() for line in address.splitlines() if line.strip()]
    email = settings.get(EMAIL_SETTING) or ""
    return vc.Issuer(
        id=issuer_did(),
        name=str(content.get("provider_name") or settings.get("provider_name") or ""),
        url=_public_base() + "/",
        address_lines=tuple(str(line) for line in address),
        email=str(email) if isinstance(email, str) else "",
    )


def _image_url(content: Mapping[str, Any], code: str) -> str | None:
    """The achievement's image: the certificate's first-page picture, else the provider's
    logo, when the app serves them (None otherwise)."""
    views = current_app.view_functions
    if "certificates.picture" in views:
        return _absolute("certificates.picture", code=code)
    logo = content.get("provider_logo")
    if logo and "programme_images.show" in views:
        return _absolute("programme_images.show", digest=logo)
    return None


@dataclass(frozen=True)
class SignedCredential:
    """A certificate's credential as a VC-JWT, with the file name it downloads as."""

    jwt: str
    filename: str


def credential_for_code(session: Session, typed_code: str) -> SignedCredential:
    """The signed OpenBadgeCredential of the certificate with this verification code.

    NotFound for an unknown code, for a certificate not yet issued (no status entry yet) and
    for one a reissue replaced (its newer certificate has the credential to share).
    """
    code = normalise_code(typed_code)
    row = (
        session.execute(
            select(
                Certificate.code,
                Certificate.serial,
                Certificate.content,
                Certificate.issued_at,
                Certificate.expires_at,
                CredentialStatus.status_index,
            )
            .join(CredentialStatus, CredentialStatus.certificate_id == Certificate.id)
            .where(Certificate.code == code, Certificate.superseded_by_id.is_(None))
        ).first()
        if code
        else None
    )
    if row is None:
        raise NotFound("No issued certificate has that verification code.")
    content = row.content or {}
    number = list_number(row.status_index)
    facts = vc.CredentialFacts(
        content=content,
        code=row.code,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        credential_url=_absolute("badges.credential", code=row.code),
        achievement_url=_achievement_url(content),
        image_url=_image_url(content, row.code),
        status_list_url=_absolute("badges.status_list", number=published_number(number)),
        status_list_index=index_in_list(row.status_index),
    )
    credential = vc.build_credential(facts, _issuer(content, programme_settings(session) or {}))
    keys = keyring()
    assert keys.signing is not None
    payload = {**credential, **vc.jwt_claims(credential)}
    return SignedCredential(sign(payload, keys.signing, issuer_did()), f"{row.serial}.jwt")


def _achievement_url(content: Mapping[str, Any]) -> str:
    """The achievement's id: one per catalogue item, stable across its certificates."""
    name = f"{_public_base()}/achievements/{content.get('item_code', '')}"
    return f"urn:uuid:{uuid.uuid5(vc.ID_NAMESPACE, name)}"


@dataclass(frozen=True)
class SignedStatusList:
    """One status list as a signed BitstringStatusListCredential, with its ETag."""

    etag: str
    jwt: str


def status_list_etag(session: Session, number: int) -> tuple[str, ListState]:
    """The ETag of list `number` and the state it was computed from (NotFound past the last
    list in use). Two queries whatever the number of certificates."""
    if number < 0 or number > highest_list(session):
        raise NotFound("There is no such status list.")
    state = list_state(session, number)
    keys = keyring()
    assert keys.signing is not None
    # A rotation re-signs the list, and a moved public address renames the issuer: both new tags.
    basis = f"{state.fingerprint()}|{keys.signing.kid}|{_public_base()}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:40], state


def status_list(session: Session, number: int) -> SignedStatusList:
    """List `number` as a signed BitstringStatusListCredential."""
    etag, state = status_list_etag(session, number)
    return SignedStatusList(etag, signed_status_list(state))


def signed_status_list(state: ListState) -> str:
    """The signed BitstringStatusListCredential of a list's state (no query)."""
    url = _absolute("badges.status_list", number=published_number(state.number))
    credential = vc.status_list_credential(
        list_url=url,
        issuer_id=issuer_did(),
        encoded_list=encode_list(state.revoked),
        changed_at=state.changed_at,
    )
    payload: dict[str, Any] = {**credential, "iss": issuer_did(), "jti": url}
    if state.changed_at is not None:
        payload["nbf"] = int(state.changed_at.timestamp())
    keys = keyring()
    assert keys.signing is not None
    return sign(payload, keys.signing, issuer_did())


def jwks_json() -> dict[str, Any]:
    """Every public key of the issuer, current and retired."""
    return jwk_set(keyring().public_jwks)


def did_json() -> dict[str, Any]:
    """The issuer's did:web document."""
    return did_document(issuer_did(), keyring().public_jwks)
