"""The public face of the Certificate of Training's records: what other features may use
(lms.faces). The demo makes its candidates through these, as a clinician, a consultant and
staff would."""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        "lms.training.award": ("award_credential", "award_state"),
        "lms.training.consultant_letters": ("upload_letter_by_code",),
        "lms.training.consultants": ("ConsultantInput", "add_consultant"),
        "lms.training.consultations": (
            "ConsultationInput",
            "confirm_by_code",
            "confirm_in_account",
            "decline_by_code",
            "log_consultation",
            "response_code",
        ),
        "lms.training.directory": ("DIRECTORY_SETTING", "opt_in"),
        "lms.training.documents": ("DOCUMENTS_AREA", "review_document", "upload_document"),
        "lms.training.models": ("Consultant", "Consultation"),
        "lms.training.records_models": ("SessionEntry", "TrainingDocument"),
        "lms.training.session_log": ("NEW_CLIENT", "SessionInput", "log_session"),
    },
)
