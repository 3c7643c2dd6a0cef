"""Site administration > Publish as LTI tool: User default values and LTI settings."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.form_helpers import show_errors
from app.blueprints.lti_settings.forms import (
    HELP_LTI_SETTINGS, HELP_USER_DEFAULTS, LtiSettingsForm, UserDefaultsForm,
)
from app.extensions import db
from app.security import admin_required
from app.templating import lti_admin_crumbs
from app.services.platforms import settings
from app.services.errors import ValidationErrors

bp = Blueprint("lti_settings", __name__)


def _render(template: str, title: str, status: int, **context):
    return render_template(template, title=title, breadcrumbs=lti_admin_crumbs((title, None)), lti_nav_active=title,
                           **context), status


@bp.route("/admin/lti/defaults", methods=["GET", "POST"])
@admin_required
def defaults():
    form = UserDefaultsForm(data=settings.user_defaults())
    if form.validate_on_submit():
        try:
            settings.update_user_defaults(form.profile_data())
        except ValidationErrors as error:
            show_errors(form, error)
        else:
            db.session.commit()
            flash("Changes saved", "success")
            return redirect(url_for(".defaults"))
    return _render("admin/lti_settings/defaults.html", "User default values",
                   400 if request.method == "POST" else 200, form=form, helps=HELP_USER_DEFAULTS,
                   frame_embedding=settings.lti_setting("allow_frame_embedding"))


@bp.route("/admin/lti/settings", methods=["GET", "POST"], endpoint="settings")
@admin_required
def settings_page():
    form = LtiSettingsForm(data=LtiSettingsForm.initial(settings.lti_settings()))
    if form.validate_on_submit():
        try:
            settings.update_lti_settings(form.values())
        except ValidationErrors as error:
            show_errors(form, error)
        else:
            db.session.commit()
            flash("Changes saved", "success")
            return redirect(url_for(".settings"))
    return _render("admin/lti_settings/settings.html", "LTI settings", 400 if request.method == "POST" else 200,
                   form=form, helps=HELP_LTI_SETTINGS)
