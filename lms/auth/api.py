"""The public face of accounts, roles and sign-in: what other features may use (lms.faces)."""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        "lms.auth.access": (
            "admin_required",
            "consultant_required",
            "may_see_person",
            "person_visible",
            "reviewer_required",
            "safe_next",
            "staff_required",
        ),
        "lms.auth.account_sections": ("register_account_section",),
        # LinkCodeForm: an e-mailed link's code; the consultants' links ask for it too.
        "lms.auth.forms": ("InviteForm", "LinkCodeForm"),
        "lms.auth.licence": ("LicenceStanding", "licence_standing"),
        "lms.auth.models": ("Role", "User", "UserRole"),
        "lms.auth.passwords": ("hash_password", "password_problem", "verify_password"),
        "lms.auth.services": ("normalise_email",),
        "lms.auth.privacy": (
            "Erasure",
            "Export",
            "PrivacyHooks",
            "iso",
            "records",
            "select_section",
        ),
    },
)
