"""The public face of certificates: what other features may use (lms.faces)."""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        "lms.certificates.context": ("format_date", "format_hours", "programme_facts"),
        "lms.certificates.holds": ("DASHBOARD_KEY", "Hold", "register"),
        "lms.certificates.models": ("Certificate",),
        "lms.certificates.render": ("html_to_pdf", "jinja_env"),
    },
)
