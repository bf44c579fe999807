"""Open Badges 3.0: issued credentials checked the way a stranger's verifier would.

Nothing here uses the signing code to check what it signed: the signature is verified with
`cryptography` against the JWK Set fetched from /.well-known/jwks.json, the payload against
1EdTech's own JSON Schema (vendored in tests/schemas with its source and licence), and the
revocation bit read out of the published, gzipped status list.
"""

from __future__ import annotations

import base64
import gzip
import json
import stat
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from certificates_support import issued
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms.badges.models import CredentialStatus
from lms.certificates import services as certificates
from lms.certificates.models import Certificate
from lms.db import db

SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[1]
        / "schemas"
        / "ob_v3p0_achievementcredential_schema.json"
    ).read_text(encoding="utf-8")
)
LIST_BITS = 131_072


@pytest.fixture
def clinician(make_user, catalog):  # noqa: ANN001, ANN201
    """A licensed clinician with the default catalogue loaded."""
    return make_user(name="Dana Q. Holder", email="dana.holder@example.test")


def _b64(segment: str) -> bytes:
    """base64url without padding, decoded."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _decoded_parts(body: str) -> list[str]:
    """Each segment of a compact JWS decoded (the body itself when it is not one)."""
    parts = body.split(".")
    if len(parts) != 3:
        return [body]
    return [_b64(part).decode("latin-1") for part in parts]


def verified(token: str, client: FlaskClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, payload) of a compact JWS whose EdDSA signature checks out against the key
    the published JWK Set holds under the header's kid; AssertionError otherwise."""
    header_part, payload_part, signature_part = token.split(".")
    header = json.loads(_b64(header_part))
    assert header["alg"] == "EdDSA"
    kid = header["kid"].split("#", 1)[1]
    keys = client.get("/.well-known/jwks.json").get_json()["keys"]
    jwk = next(k for k in keys if k["kid"] == kid)
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and "d" not in jwk
    public = Ed25519PublicKey.from_public_bytes(_b64(jwk["x"]))
    public.verify(_b64(signature_part), f"{header_part}.{payload_part}".encode("ascii"))
    return header, json.loads(_b64(payload_part))


def status_bit(client: FlaskClient, entry: dict[str, Any]) -> int:
    """The bit the published status list holds for a credentialStatus entry."""
    path = entry["statusListCredential"].removeprefix("http://lms.test")
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/vc+jwt"
    _, payload = verified(response.get_data(as_text=True), client)
    assert "BitstringStatusListCredential" in payload["type"]
    subject = payload["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "revocation"
    assert subject["encodedList"].startswith("u")
    bits = gzip.decompress(_b64(subject["encodedList"][1:]))
    assert len(bits) * 8 >= LIST_BITS
    index = int(entry["statusListIndex"])
    return (bits[index // 8] >> (7 - index % 8)) & 1


def _credential(client: FlaskClient, code: str) -> tuple[dict, dict]:
    """Download a certificate's credential and verify it (header, payload)."""
    response = client.get(f"/verify/{code}/open-badge.jwt")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/vc+jwt"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return verified(response.get_data(as_text=True), client)


def test_an_issued_certificate_is_a_signed_open_badge_that_meets_1edtechs_schema(
    app: Flask, session, clinician
) -> None:
    """Signature against the published JWKS, payload against the OB 3.0 JSON Schema, the
    issuer profile, achievement, dates and status entry; no e-mail, no licence number."""
    completion = issued(session, clinician.id)
    certificate = session.scalars(
        select(Certificate).where(Certificate.completion_id == completion.id)
    ).one()
    client = app.test_client()  # nobody signed in: the code is enough, as for the verify page

    header, payload = _credential(client, certificate.code)

    jsonschema.Draft201909Validator(SCHEMA).validate(payload)
    assert header["typ"] == "JWT"
    assert header["kid"].startswith("did:web:lms.test#")
    assert payload["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert payload["issuer"]["id"] == "did:web:lms.test"
    assert payload["issuer"]["type"] == ["Profile"]
    assert payload["issuer"]["name"] == certificate.content["provider_name"]
    assert payload["issuer"]["url"] == "http://lms.test/"
    assert payload["iss"] == payload["issuer"]["id"] and payload["jti"] == payload["id"]
    assert payload["sub"] == payload["credentialSubject"]["id"]
    assert payload["validFrom"].endswith("Z")
    achievement = payload["credentialSubject"]["achievement"]
    assert achievement["type"] == ["Achievement"]
    assert achievement["name"] == certificate.content["title"]
    assert achievement["criteria"]["narrative"]
    assert achievement["description"]
    identity = payload["credentialSubject"]["identifier"][0]
    assert identity == {
        "type": "IdentityObject",
        "identityHash": "Dana Q. Holder",
        "identityType": "name",
        "hashed": False,
    }
    status = payload["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry"
    assert status["statusPurpose"] == "revocation"
    assert status["statusListCredential"] == "http://lms.test/credentials/status/1"
    text = json.dumps(payload)
    assert "dana.holder@example.test" not in text
    assert clinician.licence_number not in text


def test_a_revocation_sets_the_bit_in_its_own_transaction_and_the_etag_changes(
    app: Flask, session, clinician, count_queries
) -> None:
    """Bit 0 while valid, 1 once revoked (the same commit as the revocation); a cached copy
    is never served after the change: the old ETag gets the new list, the new one a 304."""
    completion = issued(session, clinician.id)
    certificate = session.scalars(
        select(Certificate).where(Certificate.completion_id == completion.id)
    ).one()
    client = app.test_client()
    _, payload = _credential(client, certificate.code)
    entry = payload["credentialStatus"]
    assert status_bit(client, entry) == 0
    list_path = "/credentials/status/1"
    before = client.get(list_path)
    etag = before.headers["ETag"]
    assert "no-cache" in before.headers["Cache-Control"]
    assert client.get(list_path, headers={"If-None-Match": etag}).status_code == 304

    certificates.revoke_certificate(session, certificate.id, actor_id=None, reason="Error")
    row = session.get(CredentialStatus, certificate.id)
    assert row is not None and row.revoked_at is not None  # written before the commit
    session.commit()

    assert status_bit(client, entry) == 1
    after = client.get(list_path, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["ETag"] != etag
    assert (
        client.get(list_path, headers={"If-None-Match": after.headers["ETag"]}).status_code == 304
    )
    # The revoked credential still downloads (its status says revoked) and still verifies.
    _, again = _credential(client, certificate.code)
    assert again["credentialStatus"] == entry


def test_a_rolled_back_revocation_leaves_the_bit_clear(app: Flask, session, clinician) -> None:
    """The bit and the revocation commit or roll back together."""
    completion = issued(session, clinician.id)
    certificate = session.scalars(
        select(Certificate).where(Certificate.completion_id == completion.id)
    ).one()
    client = app.test_client()
    _, payload = _credential(client, certificate.code)
    certificates.revoke_certificate(session, certificate.id, actor_id=None, reason="Error")
    session.rollback()
    assert status_bit(client, payload["credentialStatus"]) == 0


def test_each_certificate_gets_its_own_index_once_and_a_reissue_a_new_one(
    app: Flask, session, make_user, catalog
) -> None:
    """Indexes are unique, kept by a revoked or superseded certificate, never handed again."""
    people = [make_user() for _ in range(3)]
    certs = []
    for person in people:
        completion = issued(session, person.id)
        certs.append(
            session.scalars(
                select(Certificate).where(Certificate.completion_id == completion.id)
            ).one()
        )
    indexes = {c.id: session.get(CredentialStatus, c.id).status_index for c in certs}
    assert sorted(indexes.values()) == [0, 1, 2]
    new = certificates.reissue_certificate(session, certs[0].id, actor_id=None)
    db.commit()  # the new certificate's render job runs after the commit
    session.expire_all()
    new_entry = session.get(CredentialStatus, new.id)
    assert new_entry is not None and new_entry.status_index == 3
    assert session.get(CredentialStatus, certs[0].id).status_index == indexes[certs[0].id]


def test_a_reissue_stops_the_old_credential_verifying_and_the_new_one_is_valid(
    app: Flask, session, clinician
) -> None:
    """The replaced certificate's bit is set in the reissue's transaction and its credential
    is no longer handed out; the newer certificate's credential is valid."""
    completion = issued(session, clinician.id)
    old = session.scalars(
        select(Certificate).where(Certificate.completion_id == completion.id)
    ).one()
    client = app.test_client()
    _, payload = _credential(client, old.code)
    assert status_bit(client, payload["credentialStatus"]) == 0
    new = certificates.reissue_certificate(session, old.id, actor_id=None)
    db.commit()
    assert status_bit(client, payload["credentialStatus"]) == 1
    assert client.get(f"/verify/{old.code}/open-badge.jwt").status_code == 404
    _, newer = _credential(client, new.code)
    assert status_bit(client, newer["credentialStatus"]) == 0


def test_the_status_list_answers_in_the_same_number_of_queries_however_many_are_revoked(
    app: Flask, session, make_user, catalog, count_queries
) -> None:
    """One revoked certificate or three: the same queries to build the list."""
    client = app.test_client()

    def queries() -> int:
        with count_queries() as statements:
            assert client.get("/credentials/status/1").status_code == 200
        # Mail about the revocations may be going out on the same engine meanwhile.
        return len([s for s in statements if "outbox_messages" not in s])

    ids = []
    for _ in range(3):
        completion = issued(session, make_user().id)
        ids.append(
            session.scalars(
                select(Certificate.id).where(Certificate.completion_id == completion.id)
            ).one()
        )
    certificates.revoke_certificate(session, ids[0], actor_id=None, reason="Error")
    session.commit()
    one = queries()
    for certificate_id in ids[1:]:
        certificates.revoke_certificate(session, certificate_id, actor_id=None, reason="Error")
    session.commit()
    assert queries() == one <= 2


def test_rotation_signs_with_a_new_key_and_old_credentials_still_verify(
    app: Flask, session, clinician
) -> None:
    """After `rotate-key` the old key is still in the JWKS and the DID document (public part
    only), the new one signs, and the key files are owner-only with no private part left on
    the retired one."""
    completion = issued(session, clinician.id)
    code = session.scalars(
        select(Certificate.code).where(Certificate.completion_id == completion.id)
    ).one()
    client = app.test_client()
    old_token = client.get(f"/verify/{code}/open-badge.jwt").get_data(as_text=True)
    old_header, _ = verified(old_token, client)

    result = app.test_cli_runner().invoke(args=["lms", "credentials", "rotate-key"])
    assert result.exit_code == 0, result.output
    old_kid = old_header["kid"].split("#")[1]
    assert "retired" in result.output and old_kid in result.output

    verified(old_token, client)  # the credential downloaded before still verifies
    new_header, _ = _credential(client, code)
    assert new_header["kid"] != old_header["kid"]
    kids = [k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]]
    assert kids == [new_header["kid"].split("#")[1], old_kid]

    did = client.get("/.well-known/did.json").get_json()
    assert did["id"] == "did:web:lms.test"
    methods = {m["id"]: m for m in did["verificationMethod"]}
    assert set(methods) == {new_header["kid"], old_header["kid"]}
    assert all(m["type"] == "JsonWebKey" and "d" not in m["publicKeyJwk"] for m in methods.values())
    assert set(did["assertionMethod"]) == set(methods)

    folder = Path(app.config["LMS_INSTANCE_PATH"]) / "credential_keys"
    files = sorted(folder.glob("*.json"))
    assert len(files) == 2
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    private = [p.stem for p in files if "d" in json.loads(p.read_text())["jwk"]]
    assert private == [new_header["kid"].split("#")[1]]
    # The private part appears in no published document and no download.
    secret = next(json.loads(p.read_text())["jwk"]["d"] for p in files if p.stem == private[0])
    for path in (
        "/.well-known/jwks.json",
        "/.well-known/did.json",
        f"/verify/{code}/open-badge.jwt",
    ):
        body = client.get(path).get_data(as_text=True)
        assert secret not in body and secret not in json.dumps(_decoded_parts(body))


def test_a_tampered_credential_fails_verification(app: Flask, session, clinician) -> None:
    """The independent check can fail: one changed payload byte breaks the signature."""
    completion = issued(session, clinician.id)
    code = session.scalars(
        select(Certificate.code).where(Certificate.completion_id == completion.id)
    ).one()
    client = app.test_client()
    token = client.get(f"/verify/{code}/open-badge.jwt").get_data(as_text=True)
    header, payload, signature = token.split(".")
    claims = json.loads(_b64(payload))
    claims["credentialSubject"]["identifier"][0]["identityHash"] = "Someone Else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(InvalidSignature):
        verified(f"{header}.{forged}.{signature}", client)


def test_unknown_codes_and_lists_past_the_last_are_not_found(app: Flask, session, clinician):
    """A code nobody was issued, a malformed one and a list nobody uses: 404."""
    issued(session, clinician.id)
    client = app.test_client()
    assert client.get("/verify/AAAA-AAAA-AAAA-AAAA-AAAA/open-badge.jwt").status_code == 404
    assert client.get("/verify/not-a-code/open-badge.jwt").status_code == 404
    assert client.get("/credentials/status/2").status_code == 404


def test_the_holder_finds_the_open_badge_on_the_certificates_page_and_the_dashboard(
    app: Flask, session, clinician, login
) -> None:
    """The certificates page and the dashboard's record link the credential by its code."""
    completion = issued(session, clinician.id)
    code = session.scalars(
        select(Certificate.code).where(Certificate.completion_id == completion.id)
    ).one()
    client = login(app.test_client(), clinician)
    link = f'href="/verify/{code}/open-badge.jwt"'
    assert link in client.get(f"/people/{clinician.id}/certificates").get_data(as_text=True)
    assert link in client.get("/").get_data(as_text=True)


def test_the_issuer_profile_gives_the_provider_email_the_catalogue_sets(
    app: Flask, session, clinician, tmp_path: Path
) -> None:
    """`provider_email` in [programme] reaches the issuer profile; a malformed one is refused
    with the file's problem and nothing changes."""
    from lms.catalog.services import DEFAULT_CATALOG, CatalogError, load_catalog

    text = Path(DEFAULT_CATALOG).read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("[programme]\n", '[programme]\nprovider_email = "no"\n', 1))
    with pytest.raises(CatalogError, match="provider_email"):
        load_catalog(session, bad)
    session.rollback()
    good = tmp_path / "good.toml"
    good.write_text(
        text.replace("[programme]\n", '[programme]\nprovider_email = "ce@example.org"\n', 1)
    )
    load_catalog(session, good)
    db.commit()
    completion = issued(session, clinician.id)
    code = session.scalars(
        select(Certificate.code).where(Certificate.completion_id == completion.id)
    ).one()
    _, payload = _credential(app.test_client(), code)
    assert payload["issuer"]["email"] == "ce@example.org"
    jsonschema.Draft201909Validator(SCHEMA).validate(payload)
