"""The public face of the catalogue: what other features may use (lms.faces)."""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        "lms.catalog.drawing": ("Mark", "PATHWAY_MARKS", "Pathway", "pathway_for"),
        "lms.catalog.evaluation_form": (
            "ANSWER_MAX",
            "EvaluationForm",
            "LIKERT",
            "Question",
            "form_for",
        ),
        "lms.catalog.item_sessions": ("SessionView",),
        "lms.catalog.catalogue_file": ("FilePart", "register_file_part"),
        "lms.catalog.models": ("CatalogItem", "CatalogueVersion", "ItemKind", "ProgrammeSetting"),
        "lms.catalog.pathway_layout": ("spine",),
        "lms.catalog.reading": ("ItemValues", "programme_settings"),
        "lms.catalog.credential_leaves": (
            "ConsultationKind",
            "DOCUMENT_KINDS",
            "LOGGED_KINDS",
            "TrainingFacts",
            "logged_progress",
            "window_closes_on",
        ),
        "lms.catalog.rule_checks": ("validate_rule",),
        "lms.catalog.rules": (
            "Evaluation",
            "Facts",
            "ItemName",
            "LICENCE_STEP",
            "Outline",
            "SCREENING_STEP",
            "compact_names",
            "describe",
            "evaluate",
            "in_locale",
        ),
    },
)
