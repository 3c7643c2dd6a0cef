"""Forms for the admin user screens. They only collect input: app.services.accounts.users checks it, so the web
form and the CLI give the same messages. Select fields skip WTForms' own choice check for the same reason."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField

from app.form_helpers import ProfileFieldsForm


class UserForm(ProfileFieldsForm):
    """Create and edit an account. The view removes `password` for LTI accounts."""

    username = StringField("Username", render_kw={"autocomplete": "off", "autocapitalize": "none"})
    password = PasswordField("Password", render_kw={"autocomplete": "new-password"})
    email = StringField("Email", render_kw={"autocomplete": "off"})
    first_name = StringField("First name")
    last_name = StringField("Last name")
    is_site_admin = BooleanField("Site administrator")
    suspended = BooleanField("Suspended")


class PasswordForm(FlaskForm):
    password = PasswordField("New password", render_kw={"autocomplete": "new-password"})
