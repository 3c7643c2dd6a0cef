"""Form pieces several blueprints share: service errors under their fields, and the profile fields of
an account that are also the LTI user default values."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice

from app.services.accounts.countries import COUNTRIES
from app.services.errors import ServiceError, ValidationErrors
from app.services.accounts.profile import EMAIL_VISIBILITY, LANGUAGES, PROFILE_FIELDS, server_timezone, timezones


def choices(labels: dict[Any, str]) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in labels.items()]


def show_errors(form: FlaskForm, error: ServiceError) -> None:
    """Put a service's messages under the fields they name; the rest go above the form."""
    messages = error.errors if isinstance(error, ValidationErrors) else {error.field: error.message}
    for name, message in messages.items():
        field = form._fields.get(name) if name else None
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]


class ProfileFieldsForm(FlaskForm):
    """The profile fields of an account, which are also the LTI user default values."""

    email_visibility = SelectField("Email visibility", default="2", validate_choice=False,
                                   choices=choices(EMAIL_VISIBILITY))
    city = StringField("City/town")
    country = SelectField("Select a country", validate_choice=False,
                          choices=[SelectChoice("", "Select a country..."), *choices(COUNTRIES)])
    timezone = SelectField("Timezone", validate_choice=False)
    lang = SelectField("Preferred language", default="en", validate_choice=False, choices=choices(LANGUAGES))
    institution = StringField("Institution")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice("", f"Server timezone ({server_timezone()})"),
                                 *(SelectChoice(zone) for zone in timezones())]

    def profile_data(self) -> dict[str, Any]:
        return {name: self[name].data for name in PROFILE_FIELDS}
