"""Open Badges on the web: a certificate's credential, the status lists, the issuer's keys."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, request

from lms.badges import services
from lms.db import db
from lms.errors import NotFound
from lms.ratelimit import limiter

bp = Blueprint("badges", __name__)

# As for the verify page: the code is the secret, so guessing is slowed down the same way.
CREDENTIAL_LIMIT = "60 per minute"


def _json(document: dict[str, Any], mimetype: str) -> Response:
    """A public JSON document that caches make sure is current (ETag, revalidated each time)."""
    body = json.dumps(document, indent=2)
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "public, no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/verify/<code>/open-badge.jwt")
@limiter.limit(CREDENTIAL_LIMIT)
def credential(code: str) -> Response:
    """The certificate's Open Badge (a signed VC-JWT) for anyone with its verification code:
    it says what the verify page says, and nothing more about the holder."""
    try:
        signed = services.credential_for_code(db.session, code)
    except NotFound:
        abort(404)
    response = Response(signed.jwt, mimetype=services.MEDIA_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{signed.filename}"'
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/credentials/status/<id:number>")
def status_list(number: int) -> Response:
    """A Bitstring Status List credential (published from 1: `/1` is list 0); its ETag
    changes with every revocation, and caches must revalidate, so a verifier never reads a
    stale bit."""
    try:
        etag, state = services.status_list_etag(db.session, number - 1)
    except NotFound:
        abort(404)
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        response = Response(services.signed_status_list(state), mimetype=services.MEDIA_TYPE)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, no-cache"
    return response


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The issuer's public keys, current and retired, as a JWK Set."""
    return _json(services.jwks_json(), "application/jwk-set+json")


@bp.get("/.well-known/did.json")
def did_document() -> Response:
    """The issuer's did:web document (one JsonWebKey verification method per key)."""
    return _json(services.did_json(), "application/did+json")
