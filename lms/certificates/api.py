"""The public face of certificates: what other features may use (lms.faces)."""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        "lms.certificates.activities": ("register_activity_finder",),
        "lms.certificates.codes": ("normalise_code",),
        "lms.certificates.context": (
            "ActivityFacts",
            "format_date",
            "format_hours",
            "printable",
            "programme_facts",
        ),
        "lms.certificates.holds": ("DASHBOARD_KEY", "Hold", "register"),
        "lms.certificates.models": ("Certificate",),
        "lms.certificates.sample": ("sample_content", "sample_pdf"),
        "lms.certificates.render": ("html_to_pdf", "jinja_env"),
    },
)
