from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, SubmitField


class LoginForm(FlaskForm):
    username = StringField("Username", render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField("Password", render_kw={"autocomplete": "current-password"})
    next = HiddenField()
    submit = SubmitField("Log in")
