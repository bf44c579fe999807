"""The public face of the audit trail: what other features may use (lms.faces)."""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        "lms.audit.models": ("AuditEvent",),
        "lms.audit.revocation": ("REASON_MAX", "clean_reason", "revoke"),
    },
)
