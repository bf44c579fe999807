"""The auth feature's public face beside services.py: what other features may use of it.

Another feature imports these from here, never from the modules they live in, so the
feature can move its insides without touching them (tests/unit/test_package_graph.py).
Each name is imported from its module only when first asked for (lms.faces).
"""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        "lms.auth.access": (
            "admin_required",
            "may_see_person",
            "reviewer_required",
            "safe_next",
            "staff_required",
        ),
        "lms.auth.forms": ("InviteForm",),
        "lms.auth.licence": (
            "LicenceStanding",
            "licence_standing",
        ),
        "lms.auth.models": (
            "Role",
            "User",
            "UserRole",
        ),
        "lms.auth.passwords": (
            "hash_password",
            "password_problem",
            "verify_password",
        ),
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
