"""The public face of offerings and their enrolments: what other features may use (lms.faces)."""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        "lms.offerings.attendance": ("token",),
        "lms.offerings.closing": ("close_offering",),
        "lms.offerings.days": ("DaySpec", "every_day"),
        "lms.offerings.enrolment": ("enrol", "enrol_user", "live_enrolment"),
        "lms.offerings.evaluated": ("register",),
        "lms.offerings.models": (
            "Enrolment",
            "EnrolmentStatus",
            "JoinRefusal",
            "Offering",
            "OfferingFormat",
            "OfferingStatus",
            "ParticipantRow",
        ),
        "lms.offerings.participants": ("import_report_file", "match_row"),
        "lms.offerings.places": ("WITHDRAWABLE",),
        "lms.offerings.listing": ("OfferingSummary", "upcoming_offerings"),
        "lms.offerings.schedule": ("OfferingInput", "create_offering", "get_offering"),
        "lms.offerings.sheet": ("CellInput", "save_cells"),
    },
)
