"""LTI settings and user default values. Fields are text: app.services.platforms.settings turns
them into values and gives the messages, shared with `flask lti settings|defaults set`."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from app.form_helpers import ProfileFieldsForm
from app.services.platforms.settings import UNKNOWN_DEPLOYMENT_HOLD, UNKNOWN_DEPLOYMENT_REJECT

YES_NO = [SelectChoice("1", "Yes"), SelectChoice("0", "No")]
_NUMBER = {"inputmode": "numeric"}


def _yes_no(label: str) -> SelectField:
    return SelectField(label, choices=YES_NO, validate_choice=False)


class LtiSettingsForm(FlaskForm):
    allow_frame_embedding = _yes_no("Allow frame embedding")
    unknown_deployments = SelectField("Unknown deployments", validate_choice=False, choices=[
        SelectChoice(UNKNOWN_DEPLOYMENT_REJECT, "Reject launches"),
        SelectChoice(UNKNOWN_DEPLOYMENT_HOLD, "Hold for approval")])
    clock_leeway = StringField("Clock leeway (seconds)", render_kw=_NUMBER)
    registration_url_lifetime_days = StringField("Registration URL lifetime (days)", render_kw=_NUMBER)
    key_rotation_grace_days = StringField("Key rotation grace period (days)", render_kw=_NUMBER)
    allow_account_creation = _yes_no("Allow account creation from launches")
    allow_admin_linking = _yes_no("Allow linking of site administrator accounts")
    sync_interval_minutes = StringField("Synchronisation interval (minutes)", render_kw=_NUMBER)
    launch_log_retention_days = StringField("Launch log retention (days)", render_kw=_NUMBER)
    additional_frame_ancestors = TextAreaField("Additional frame ancestors",
                                               render_kw={"rows": 4, "spellcheck": "false"})

    def values(self) -> dict[str, Any]:
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}

    @staticmethod
    def initial(settings: dict[str, Any]) -> dict[str, Any]:
        """Stored values as the form shows them: Yes/No as 1/0, origins one per line."""
        return {name: ("1" if value else "0") if isinstance(value, bool)
                else "\n".join(value) if isinstance(value, list) else str(value)
                for name, value in settings.items()}


HELP_LTI_SETTINGS = {
    "allow_frame_embedding": "If enabled, launched content is displayed inside the platform's frame. If disabled, "
                             "launches show a link that opens the tool in a new window.",
    "unknown_deployments": "What happens when a registered platform launches from a deployment ID that has not "
                           "been added. Held deployments appear on the registration's Deployments tab for an "
                           "administrator to approve or ignore.",
    "clock_leeway": "Allowed difference between this server's clock and the platform's when checking token times.",
    "registration_url_lifetime_days": "How long a dynamic registration URL stays valid. Each URL can be used once.",
    "key_rotation_grace_days": "How long a previous tool key stays published after rotation, so platforms that "
                               "cached it keep working.",
    "allow_account_creation": "If disabled, the 'Create an account for me' option is never offered and automatic "
                              "provisioning refuses new users.",
    "allow_admin_linking": "If disabled, a site administrator account cannot be linked to an LMS identity.",
    "sync_interval_minutes": "How often grade and user synchronisation run.",
    "additional_frame_ancestors": "Extra origins (scheme://host[:port]) allowed to frame this site, for LMS pages "
                                  "served from another domain than the platform's issuer.",
}


class UserDefaultsForm(ProfileFieldsForm):
    """The same fields as an account's profile; they seed new publish forms."""


HELP_USER_DEFAULTS = {
    "email_visibility": "This setting determines who can see the email address of accounts created by a launch.",
}
