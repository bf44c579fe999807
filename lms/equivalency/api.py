"""The public face of credit for outside training: what other features may use (lms.faces)."""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        "lms.equivalency.models": ("EquivalencyRequest", "EquivalencyStatus"),
    },
)
