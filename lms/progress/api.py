"""The public face of progress and its standings: what other features may use (lms.faces)."""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        "lms.progress.cohort_picker": (
            "CohortGroup",
            "CohortSource",
            "register_cohorts",
            "standing_words",
        ),
        "lms.progress.fact_sources": ("Awaiting", "FactSource", "Histories", "register"),
        "lms.progress.models": (
            "Completion",
            "CompletionSource",
            "ItemState",
            "awarded_hours",
            "total_hours",
        ),
        "lms.progress.staff_home": ("HOME_ROLES", "HomePart", "STAFF_HOME", "Waiting"),
    },
)
