"""The pathway picture on the dashboard and the programme page, and the locks said once."""

from __future__ import annotations

import re
from datetime import date

from certificates_support import record

from lms import signals
from lms.auth.models import Role


def html_of(client, path: str = "/") -> str:
    """A page's HTML (asserting it answered 200)."""
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def node(html: str, code: str, variant: str = "wide") -> str:
    """One node of one of the two drawings, with its title."""
    drawing = re.search(rf'<svg[^>]*class="pathway-svg {variant}".*?</svg>', html, re.S)
    assert drawing, f"no {variant} drawing"
    found = re.search(
        rf'<a href="#item-{code}" class="node is-(\w+)"><title>(.*?)</title>', drawing[0]
    )
    assert found, f"no node for {code}"
    return found


def outside_the_picture(html: str) -> str:
    """The page without its drawings (their titles repeat each item's state)."""
    return re.sub(r"<svg.*?</svg>", "", html, flags=re.S)


def test_a_newcomers_dashboard_draws_the_pathway_in_their_states(app, login, catalog, make_user):
    client = login(app.test_client(), make_user(Role.CLINICIAN))
    html = html_of(client)
    assert html.count('<figure class="pathway panel"') == 1
    assert node(html, "M1")[1] == "open" and node(html, "M1", "narrow")[1] == "open"
    assert node(html, "HTH")[1] == "open"  # needs nothing
    state, title = node(html, "M2").groups()
    assert state == "locked"
    assert title.startswith("Module 2 — Intermediate Workshop I: Locked. Complete Module 1, or")
    assert node(html, "RETREAT-DFH")[1] == "open"  # a licence is all it needs
    assert node(html, "RETREAT-ADV")[1] == "locked"
    # Every node links to the item's row or card on the page.
    for code in ("M1", "M2", "MUSIC", "RETREAT-L1"):
        assert f'id="item-{code}"' in html
    assert 'aria-describedby="pathway-about"' in html and 'id="pathway-about"' in html


def test_marks_follow_what_the_clinician_has_done(app, login, catalog, make_user, session):
    clinician = make_user(Role.CLINICIAN)
    record(session, clinician.id, "M1", on=date(2024, 3, 2))
    session.commit()
    html = html_of(login(app.test_client(), clinician))
    state, title = node(html, "M1").groups()
    assert state == "done" and title.endswith("Done. Completed on Mar 2, 2024")
    assert node(html, "M2")[1] == "open" and node(html, "RETREAT-L1")[1] == "open"
    assert node(html, "RETREAT-ADV")[1] == "locked"


def test_the_lock_module_1_holds_is_explained_once_not_on_every_row(app, login, catalog, make_user):
    html = outside_the_picture(html_of(login(app.test_client(), make_user(Role.CLINICIAN))))
    assert html.count('id="gate-1"') == 1
    # The note says it once; the Level 1 card names the same training in its own rule.
    assert html.count("PRATI or SAGE) approved</li>") == 1
    note = html[html.index('id="gate-1"') :].split("</div>")[0]
    assert "Modules 2–7, Music Module, Rainfall Medical Module, Integration Module and ACT" in note
    assert "<li>Complete Module 1</li>" in note  # the alternatives as a list
    for code in ("M2", "M7", "MUSIC", "ACT"):
        row = re.search(rf'<tr id="item-{code}".*?</tr>', html, re.S)[0]
        assert 'href="#gate-1"' in row and "Complete Module 1" not in row
    level_1 = html[html.index('id="item-RETREAT-L1"') :].split("</article>")[0]
    assert "Do one of these:" in level_1 and "<li>Complete Module 1</li>" in level_1


def test_module_lists_open_by_themselves_once_there_is_a_record_in_them(
    app, login, catalog, make_user, session
):
    newcomer = make_user(Role.CLINICIAN)
    html = html_of(login(app.test_client(), newcomer))
    assert html.count('<details class="module-list">') == 2  # both closed
    assert "6 locked · 1 open" in html
    record(session, newcomer.id, "M1", on=date(2024, 3, 2))
    session.commit()
    html = html_of(login(app.test_client(), newcomer))
    assert '<details class="module-list" open>' in html  # core: Module 1 is done
    assert '<details class="module-list">' in html  # specialty: nothing there yet


def test_the_programme_page_is_neutral_for_staff_and_coloured_for_a_clinician(
    app, login, catalog, make_user
):
    staff = html_of(login(app.test_client(), make_user(Role.INSTRUCTOR)), "/programme")
    assert node(staff, "M2")[1] == "neutral"
    assert "is-locked" not in staff and "Your pathway" not in staff
    assert 'id="item-M2"' in staff  # the node's link target: the item's card
    clinician = html_of(login(app.test_client(), make_user(Role.CLINICIAN)), "/programme")
    assert node(clinician, "M2")[1] == "locked" and node(clinician, "M1")[1] == "open"
    assert "Your pathway" in clinician


def test_the_programme_page_names_items_as_rules_do(app, login, catalog, make_user):
    """ "Ethics Module" in an explanation is findable: the card says it is that item."""
    html = html_of(login(app.test_client(), make_user(Role.CLINICIAN)), "/programme")
    ethics = html[html.index('id="item-ETHICS"') :].split("</article>")[0]
    assert "Called “Ethics Module” in prerequisites" in ethics
    module_2 = html[html.index('id="item-M2"') :].split("</article>")[0]
    assert "Called “" not in module_2  # "Module 2 — Intermediate Workshop I" says it already


def test_an_edited_catalogue_redraws_the_picture(app, login, catalog, make_user, session):
    client = login(app.test_client(), make_user(Role.CLINICIAN))
    assert "Ethics first" not in html_of(client)
    catalog["ETHICS"].short_title = "Ethics first"
    catalog["M2"].prerequisite = None
    signals.catalogue_changed.send(None, session=session, fields={"short_title", "prerequisite"})
    session.commit()
    html = html_of(client)
    assert ">Ethics first</text>" in html
    assert node(html, "M2")[1] == "open"  # no rule any more: open, and out of the frame
