"""A certificate as an Open Badges 3.0 OpenBadgeCredential (W3C VC Data Model 2.0): plain
values in, a JSON-ready dict out (no Flask, no database).

What the credential says comes from the certificate's frozen content, so it says what the
PDF says. It carries the holder's name (as the PDF and the verify page do) and nothing else
about them: no e-mail, no licence number.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
OB_SCHEMA_TYPE = "1EdTechJsonSchemaValidator2019"
# Names the holder's and achievement's ids (urn:uuid, stable for the same input).
ID_NAMESPACE = uuid.UUID("6b0c7f8e-3c52-5d0e-9a53-2f7b4f1f6a21")


@dataclass(frozen=True)
class Issuer:
    """The issuer's profile: its DID, name, web address, and address/e-mail when known."""

    id: str
    name: str
    url: str
    address_lines: tuple[str, ...] = ()
    email: str = ""

    def profile(self) -> dict[str, Any]:
        """The OB 3.0 Profile object."""
        profile: dict[str, Any] = {
            "id": self.id,
            "type": ["Profile"],
            "name": self.name,
            "url": self.url,
        }
        if self.address_lines:
            profile["address"] = {
                "type": ["Address"],
                "streetAddress": ", ".join(self.address_lines),
            }
        if self.email:
            profile["email"] = self.email
        return profile


@dataclass(frozen=True)
class CredentialFacts:
    """What the credential is built from: the certificate's record and where things live."""

    content: Mapping[str, Any]
    code: str
    issued_at: datetime
    expires_at: datetime | None
    credential_url: str
    achievement_url: str
    image_url: str | None
    status_list_url: str
    status_list_index: int


def vc_datetime(moment: datetime) -> str:
    """An XML Schema dateTime in UTC with a Z, to the second (as VC DM 2.0 writes them)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hours(content: Mapping[str, Any]) -> float | None:
    """The CE hours the certificate states, as a number (None when it states none)."""
    credits = content.get("credits") or []
    text = credits[0].get("amount") if credits and isinstance(credits[0], Mapping) else None
    text = text or content.get("ce_hours") or ""
    try:
        return float(Decimal(str(text))) if text else None
    except InvalidOperation:
        return None


def _credit_words(content: Mapping[str, Any]) -> str:
    """`7.5 CE contact hours` (or every credit type the certificate lists), "" for none."""
    credits = [c for c in content.get("credits") or [] if isinstance(c, Mapping)]
    if credits:
        return "; ".join(
            f"{c.get('amount_text') or c.get('amount', '')} {c.get('type', '')}".strip()
            for c in credits
        )
    if content.get("ce_hours"):
        return f"{content['ce_hours']} {content.get('ce_type', '')}".strip()
    return ""


def _description(content: Mapping[str, Any]) -> str:
    """What the achievement is, in one or two sentences."""
    title = str(content.get("title", ""))
    parts = [f"{title}, {content.get('format', '')}".rstrip(", ") + "."]
    if content.get("location"):
        parts.append(f"Location: {content['location']}.")
    credit = _credit_words(content)
    if credit:
        parts.append(f"Awards {credit}.")
    return " ".join(parts)


def _criteria(content: Mapping[str, Any], provider: str) -> str:
    """How the achievement is earned (a narrative, as the certificate's wording has it)."""
    dates = content.get("activity_dates_text") or content.get("completed_on_text") or ""
    attests = [str(line) for line in content.get("attests") or [] if line]
    if attests:  # a programme credential: awarded on meeting each part of its requirement
        narrative = f"Awarded the {content.get('title', '')} by {provider}"
        if dates:
            narrative += f" ({dates})"
        return narrative + " on meeting every part of its requirement: " + "; ".join(attests) + "."
    narrative = f"Completed {content.get('title', '')} with {provider}"
    if dates:
        narrative += f" ({dates})"
    narrative += ", as recorded by the programme; the completion is the basis of the certificate."
    statements = [
        a.get("statement", "")
        for a in content.get("accreditations") or []
        if isinstance(a, Mapping) and a.get("statement")
    ] or [s for s in content.get("statements") or [] if s]
    if statements:
        narrative += " " + " ".join(statements)
    return narrative


def holder_id(code: str) -> str:
    """An identifier for the holder in this one credential (it links to nothing else)."""
    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, 'holder:' + code)}"


def build_credential(facts: CredentialFacts, issuer: Issuer) -> dict[str, Any]:
    """The OpenBadgeCredential for one certificate."""
    content = facts.content
    achievement: dict[str, Any] = {
        "id": facts.achievement_url,
        "type": ["Achievement"],
        "name": str(content.get("title", "")),
        "description": _description(content),
        "criteria": {"narrative": _criteria(content, issuer.name)},
    }
    if content.get("item_code"):
        achievement["humanCode"] = str(content.get("activity_id") or content["item_code"])
    hours = _hours(content)
    if hours is not None:
        achievement["creditsAvailable"] = hours
    if facts.image_url:
        achievement["image"] = {"id": facts.image_url, "type": "Image"}
    subject: dict[str, Any] = {
        "id": holder_id(facts.code),
        "type": ["AchievementSubject"],
        "identifier": [
            {
                "type": "IdentityObject",
                "identityHash": str(content.get("holder_name", "")),
                "identityType": "name",
                "hashed": False,
            }
        ],
        "achievement": achievement,
    }
    if hours is not None:
        subject["creditsEarned"] = hours
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": facts.credential_url,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": str(content.get("title", "")),
        "issuer": issuer.profile(),
        "validFrom": vc_datetime(facts.issued_at),
        "credentialSubject": subject,
        "credentialSchema": [{"id": OB_SCHEMA, "type": OB_SCHEMA_TYPE}],
        "credentialStatus": {
            "id": f"{facts.status_list_url}#{facts.status_list_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(facts.status_list_index),
            "statusListCredential": facts.status_list_url,
        },
    }
    if facts.expires_at is not None:
        credential["validUntil"] = vc_datetime(facts.expires_at)
    return credential


def jwt_claims(credential: Mapping[str, Any]) -> dict[str, Any]:
    """The JWT claims OB 3.0 asks beside the credential: iss, jti, sub, nbf (and exp)."""
    claims: dict[str, Any] = {
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "sub": credential["credentialSubject"]["id"],
        "nbf": _epoch(credential["validFrom"]),
    }
    if "validUntil" in credential:
        claims["exp"] = _epoch(credential["validUntil"])
    return claims


def _epoch(text: str) -> int:
    """Seconds since 1970 of a dateTime written by vc_datetime."""
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def status_list_credential(
    *, list_url: str, issuer_id: str, encoded_list: str, changed_at: datetime | None
) -> dict[str, Any]:
    """The BitstringStatusListCredential that publishes one list."""
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id,
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded_list,
        },
    }
    if changed_at is not None:
        credential["validFrom"] = vc_datetime(changed_at)
    return credential
