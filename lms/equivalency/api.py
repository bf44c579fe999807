"""The public face of credit for outside training: what other features may use (lms.faces)."""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        # Consultation credit: asked and decided here, counted by the training's log.
        "lms.equivalency.consultation_credit": (
            "ConsultationCreditInput",
            "approved_consultation_credit",
            "submit_consultation_credit",
        ),
        "lms.equivalency.models": ("EquivalencyRequest", "EquivalencyStatus"),
        # Drawing an uploaded PDF's first page in a bounded child process (training documents).
        "lms.equivalency.preview": ("Picture", "evidence_picture", "picture_ready", "preview_key"),
    },
)
