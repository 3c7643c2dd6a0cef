from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField


class LinkForm(FlaskForm):
    """Signed in with a manual account: its password confirms the link."""

    password = PasswordField("Password", render_kw={"autocomplete": "current-password"})


class LinkLoginForm(FlaskForm):
    """Not signed in (or signed in with an LTI account): log in with the account to link."""

    username = StringField("Username", render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField("Password", render_kw={"autocomplete": "current-password"})

