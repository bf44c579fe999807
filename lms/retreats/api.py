"""The public face of retreats and their screening: what other features may use (lms.faces)."""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        "lms.retreats.screening": ("CONTRAINDICATIONS", "ScreeningAnswer", "ScreeningInput"),
        "lms.retreats.review_thread": ("AWAITING_REVIEWER", "not_their_own"),
    },
)
