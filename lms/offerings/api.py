"""The public face of offerings and their enrolments: what other features may use (lms.faces)."""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        "lms.offerings.attendance": ("token",),
        "lms.offerings.calendar": ("dropped_days", "invitation"),
        "lms.offerings.closing": (
            "close_offering",
            "closing_problem",
            "closing_result",
            "last_reopening",
            "reopen_offering",
        ),
        "lms.offerings.closing_plan": ("preview_closing", "record_attendance_completion"),
        "lms.offerings.days": ("DaySpec", "every_day"),
        "lms.offerings.forms": ("ReopenForm",),
        "lms.offerings.enrolment": ("enrol", "enrol_user", "live_enrolment"),
        "lms.offerings.evaluated": ("register",),
        "lms.offerings.models": (
            "Enrolment",
            "EnrolmentSource",
            "EnrolmentStatus",
            "JoinRefusal",
            "Offering",
            "OfferingFormat",
            "OfferingStatus",
            "PLACE_HOLDING",
            "ParticipantRow",
            "holds_live_place",
            "LIVE_PLACE",
            "NO_LONGER_RUNNING",
        ),
        "lms.offerings.participants": ("import_report_file", "match_row"),
        "lms.offerings.places": ("WITHDRAWABLE",),
        "lms.offerings.privacy": ("offering_section",),
        "lms.offerings.rescheduling": ("ScheduleNotice", "topic"),
        "lms.offerings.listing": ("OfferingSummary", "Shown", "upcoming_offerings"),
        "lms.offerings.schedule": ("OfferingInput", "create_offering", "get_offering"),
        "lms.offerings.sheet": ("CellInput", "save_cells"),
    },
)
