"""The catalog feature's public face beside services.py: what other features may use of it.

Another feature imports these from here, never from the modules they live in, so the
feature can move its insides without touching them (tests/unit/test_package_graph.py).
Each name is imported from its module only when first asked for (lms.faces).
"""

from lms.faces import public_face

__getattr__, __all__ = public_face(
    __name__,
    {
        "lms.catalog.drawing": (
            "Mark",
            "PATHWAY_MARKS",
            "Pathway",
            "pathway_for",
        ),
        "lms.catalog.evaluation_form": (
            "ANSWER_MAX",
            "EvaluationForm",
            "LIKERT",
            "Question",
            "form_for",
        ),
        "lms.catalog.item_sessions": ("SessionView",),
        "lms.catalog.loading": (
            "FilePart",
            "register_file_part",
        ),
        "lms.catalog.models": (
            "CatalogItem",
            "CatalogueVersion",
            "ItemKind",
            "ProgrammeSetting",
        ),
        "lms.catalog.pathway_layout": ("spine",),
        "lms.catalog.rules": (
            "Evaluation",
            "Facts",
            "ItemName",
            "LICENCE_STEP",
            "Outline",
            "SCREENING_STEP",
            "compact_names",
            "evaluate",
        ),
    },
)
