"""How pages say what a locked item misses: a sentence, or a lead-in with a (nested) list."""

from __future__ import annotations

from lms.catalog.rules import Outline
from lms.progress.explain import why


def test_alternatives_become_a_nested_list_from_either_form_of_the_outline():
    outline = Outline(
        "Do all of these:",
        (Outline("Do one of these:", (Outline("Complete <Module 1>"), Outline("B"))), Outline("C")),
    )
    for given in (outline, outline.json):
        html = str(why("One sentence.", given, id="gate-1", lead="Locked."))
        assert html == (
            '<div class="why" id="gate-1"><p><strong>Locked.</strong> Do all of these:</p>'
            "<ul><li>Do one of these:<ul><li>Complete &lt;Module 1&gt;</li><li>B</li></ul></li>"
            "<li>C</li></ul></div>"
        )


def test_a_single_line_or_no_outline_says_the_sentence():
    assert str(why("Complete <Module 2>.", None)) == (
        '<div class="why"><p>Complete &lt;Module 2&gt;.</p></div>'
    )
    assert "Complete Module 2." in str(why("Complete Module 2.", Outline("Complete Module 2.")))
