"""The publish form. It parses and renders; every rule lives in services.publishing."""
from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DateTimeLocalField, RadioField, SelectField, SelectMultipleField, StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional
from wtforms.widgets import NumberInput

from app.models import Activity, PlatformRegistration
from app.models.courses import ROLE_LABELS
from app.services.accounts.countries import COUNTRIES
from app.services.accounts.profile import EMAIL_VISIBILITY, LANGUAGES, server_timezone, timezones
from app.services.publishing.publish_values import (
    AVAILABLE_ALL, AVAILABLE_SELECTED, DURATION_UNITS, LTI_VERSIONS, MEMBER_SYNC_MODES, PROVISIONING_MODES,
    PublishValues,
)

YES_NO = [SelectChoice("1", "Yes"), SelectChoice("0", "No")]
BOOLEAN_FIELDS = ("grade_sync", "grade_sync_completion", "member_sync")
DATE_FIELDS = (("enrol_start_enabled", "enrol_start"), ("enrol_end_enabled", "enrol_end"))
DATE_FORMAT = "%Y-%m-%dT%H:%M"


def _choices(mapping: dict) -> list[SelectChoice]:
    return [SelectChoice(str(key), label) for key, label in mapping.items()]


def _select(label: str, choices: list[SelectChoice] | None = None, **kwargs: Any) -> SelectField:
    # Choices are checked by the service, so a tampered value gets its message rather than WTForms'.
    return SelectField(label, choices=choices or [], validate_choice=False, **kwargs)


class PublishForm(FlaskForm):
    lti_version = _select("LTI version", _choices(LTI_VERSIONS))
    name = StringField("Custom instance name")
    target = _select("Tool to be published")
    enrol_period_enabled = BooleanField("Enable", render_kw={"data-controls": "enrol_period enrol_period_unit"})
    enrol_period = StringField("Enrolment duration", widget=NumberInput(min=1))
    enrol_period_unit = _select("Unit", [SelectChoice(unit) for unit in DURATION_UNITS])
    enrol_start_enabled = BooleanField("Enable", render_kw={"data-controls": "enrol_start"})
    enrol_start = DateTimeLocalField("Start date", format=DATE_FORMAT, validators=[Optional()])
    enrol_end_enabled = BooleanField("Enable", render_kw={"data-controls": "enrol_end"})
    enrol_end = DateTimeLocalField("End date", format=DATE_FORMAT, validators=[Optional()])
    max_enrolled = StringField("Maximum enrolled users", widget=NumberInput(min=0, step=1))
    role_instructor = _select("Role for teacher", _choices(ROLE_LABELS))
    role_learner = _select("Role for student", _choices(ROLE_LABELS))
    provisioning_mode_instructor = _select("Teacher first launch provisioning mode", _choices(PROVISIONING_MODES),
                                           render_kw={"aria-describedby": "provisioning-help"})
    provisioning_mode_learner = _select("Student first launch provisioning mode", _choices(PROVISIONING_MODES),
                                        render_kw={"aria-describedby": "provisioning-help"})
    available_to = RadioField("Available to", validate_choice=False, choices=[
        SelectChoice(AVAILABLE_ALL, "All registered platforms"),
        SelectChoice(AVAILABLE_SELECTED, "Selected registrations")])
    registrations = SelectMultipleField("Registrations", validate_choice=False, choices=[])
    secret = StringField("Secret", render_kw={"maxlength": 64, "autocomplete": "off", "spellcheck": "false"})
    grade_sync = _select("Grade synchronisation", YES_NO,
                         render_kw={"data-controls": "grade_sync_completion", "data-controls-value": "1"})
    grade_sync_completion = _select("Require course or activity completion prior to grade synchronisation", YES_NO)
    member_sync = _select("User synchronisation", YES_NO,
                          render_kw={"data-controls": "member_sync_mode", "data-controls-value": "1"})
    member_sync_mode = _select("User synchronisation mode", _choices(MEMBER_SYNC_MODES))
    email_visibility = _select("Email visibility", _choices(EMAIL_VISIBILITY))
    # No maxlength: the browser would cut a pasted value silently; the service says what is too long.
    city = StringField("City/town")
    country = _select("Select a country", [SelectChoice("", "Select a country..."), *_choices(COUNTRIES)])
    timezone = _select("Timezone")
    lang = _select("Preferred language", _choices(LANGUAGES))
    institution = StringField("Institution")

    def set_choices(self, activities: list[Activity], registrations: list[PlatformRegistration], *,
                    activity_deleted: bool = False) -> None:
        # A resource whose activity is gone keeps a "Deleted activity" entry, so saving other changes can't
        # silently turn it into a publication of the whole course.
        gone = [SelectChoice("", "Deleted activity")] if activity_deleted else []
        self.target.choices = [*gone, SelectChoice("course", "Course"),
                               *(SelectChoice(str(activity.id), activity.name) for activity in activities)]
        self.registrations.choices = [SelectChoice(str(registration.id), registration.name)
                                      for registration in registrations]
        self.timezone.choices = [SelectChoice("", f"Server timezone ({server_timezone()})"),
                                 *(SelectChoice(zone) for zone in timezones())]

    def validate(self, extra_validators: Any = None) -> bool:
        """A date whose "Enable" box is off is ignored, so its typing can't block the form."""
        super().validate(extra_validators)
        for flag, name in DATE_FIELDS:
            if not self[flag].data:
                self[name].errors = []
        return not any(field.errors for field in self)

    def add_errors(self, errors: dict[str, str]) -> None:
        """Show the service's messages under their fields, without doubling a field's own parse error."""
        for name, message in errors.items():
            field = self[name] if name in self else None
            if field is not None and not field.errors:
                field.errors = [message]

    def values(self, zone: tzinfo) -> PublishValues:
        data = {name: self[name].data for name in PublishValues.names()}
        for name in BOOLEAN_FIELDS:
            data[name] = data[name] == "1"
        for _flag, name in DATE_FIELDS:
            if data[name] is not None:
                data[name] = data[name].replace(tzinfo=zone).astimezone(timezone.utc)
        data["registrations"] = list(data["registrations"] or [])
        for name in ("name", "enrol_period", "max_enrolled", "secret", "city", "institution"):
            data[name] = data[name] or ""
        return PublishValues(**data)


def form_data(values: PublishValues, zone: tzinfo) -> dict[str, Any]:
    """The service's values as the form shows them: Yes/No as 1/0, times in the viewer's zone."""
    data: dict[str, Any] = {name: getattr(values, name) for name in PublishValues.names()}
    for name in BOOLEAN_FIELDS:
        data[name] = "1" if data[name] else "0"
    for _flag, name in DATE_FIELDS:
        moment: datetime | None = data[name]
        data[name] = moment.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0) if moment else None
    for name in ("provisioning_mode_instructor", "provisioning_mode_learner", "member_sync_mode",
                 "email_visibility"):
        data[name] = str(data[name])
    return data
