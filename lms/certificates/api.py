"""The certificates feature's public face beside services.py: what other features may use of it.

Another feature imports these from here, never from the modules they live in, so the
feature can move its insides without touching them (tests/unit/test_package_graph.py).
Each name is imported from its module only when first asked for (lms.faces).
"""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        "lms.certificates.context": (
            "format_date",
            "format_hours",
            "programme_facts",
        ),
        "lms.certificates.holds": (
            "DASHBOARD_KEY",
            "Hold",
            "register",
        ),
        "lms.certificates.models": ("Certificate",),
        "lms.certificates.render": (
            "html_to_pdf",
            "jinja_env",
        ),
    },
)
