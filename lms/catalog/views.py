"""Catalogue pages: the programme for signed-in people, and the admin's item list and editor."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from lms.auth.api import Role, admin_required
from lms.catalog import services
from lms.catalog.drawing import PATHWAY_MARKS, pathway_for
from lms.catalog.forms import ItemForm
from lms.catalog.models import ItemKind
from lms.clock import today
from lms.db import db

bp = Blueprint("catalog", __name__)

SECTIONS = (
    (ItemKind.CORE_MODULE, "Core modules"),
    (ItemKind.SPECIALTY_MODULE, "Specialty modules"),
    (ItemKind.RETREAT, "Retreats"),
)


@bp.app_template_filter("ce_hours_text")
def hours(value: object) -> str:
    """CE hours without trailing zeros ('7.5', '41'); an em dash for none."""
    if value is None:
        return "—"
    return format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)


@bp.get("/programme")
@login_required
def programme() -> str:
    """The programme: every active module and retreat, what it needs and when it runs."""
    # The person's marks first: their read of the catalogue's stamp brings the locale along,
    # which the items' words then follow without a query of their own.
    marks = next(
        (
            found
            for give in PATHWAY_MARKS
            if (found := give(db.session, current_user._get_current_object())) is not None
        ),
        None,
    )
    items = services.programme_overview(db.session, on=today())
    sections = [(label, [i for i in items if i.kind == kind]) for kind, label in SECTIONS]
    return render_template(
        "catalog/programme.html",
        sections=[(label, rows) for label, rows in sections if rows],
        is_admin=current_user.has_role(Role.ADMIN),
        pathway=pathway_for(items).svg(marks or {}) if items else None,
        personal=marks is not None,
    )


@bp.get("/admin/catalogue")
@admin_required
def admin_items() -> str:
    """Every catalogue item, active or not, with its rule in words."""
    return render_template("catalog/admin_items.html", items=services.admin_item_list(db.session))


@bp.get("/admin/catalogue/<code>")
@admin_required
def admin_item(code: str) -> str:
    """One item: its fields, rules (in words and as data), sessions and dependants."""
    return render_template(
        "catalog/admin_item.html", item=services.admin_item_detail(db.session, code)
    )


@bp.route("/admin/catalogue/<code>/edit", methods=["GET", "POST"])
@admin_required
def admin_edit(code: str) -> Response | str | tuple[str, int]:
    """Edit an item's descriptive fields, CE hours, position and whether it is offered."""
    item = services.admin_item_detail(db.session, code)
    form = ItemForm(obj=item)
    if form.is_submitted() and not form.validate():
        return render_template("catalog/admin_edit.html", item=item, form=form), 422
    if form.is_submitted():
        try:
            changed = services.update_item(
                db.session, code, actor_id=current_user.id, **form.changes()
            )
        except services.ItemEditError as error:
            db.rollback()
            target = getattr(form, error.field, None) if error.field else None
            if target is not None:
                target.errors = [*target.errors, error.message]
            else:
                flash(error.message, "error")
            return render_template(
                "catalog/admin_edit.html", item=item, form=form
            ), error.status_code
        if changed:
            flash(f"Saved {code}: {', '.join(f.replace('_', ' ') for f in changed)}.", "success")
        else:
            flash(f"Nothing changed for {code}.", "info")
        return redirect(url_for("catalog.admin_item", code=code))
    if item.ce_hours is not None:
        form.ce_hours.data = hours(item.ce_hours)
    return render_template("catalog/admin_edit.html", item=item, form=form)
