"""Site settings (SPEC 4.3) and LTI user default values (SPEC 4.2), stored as SiteSetting rows."""
from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import SiteSetting

UNKNOWN_DEPLOYMENT_REJECT = "reject"
UNKNOWN_DEPLOYMENT_HOLD = "hold"

LTI_SETTINGS_DEFAULTS: dict[str, Any] = {
    "allow_frame_embedding": True,
    "unknown_deployments": UNKNOWN_DEPLOYMENT_HOLD,
    "clock_leeway": 60,
    "registration_url_lifetime_days": 14,
    "key_rotation_grace_days": 14,
    "allow_account_creation": True,
    "allow_admin_linking": False,
    "sync_interval_minutes": 30,
    "launch_log_retention_days": 90,
    "additional_frame_ancestors": [],
}

USER_DEFAULTS_DEFAULTS: dict[str, Any] = {
    "email_visibility": 2,
    "city": "",
    "country": "",
    "timezone": "",  # empty = server timezone
    "lang": "en",
    "institution": "",
}

_PREFIX = {"lti": LTI_SETTINGS_DEFAULTS, "userdefaults": USER_DEFAULTS_DEFAULTS}


def _load(prefix: str) -> dict[str, Any]:
    defaults = _PREFIX[prefix]
    rows = db.session.execute(
        db.select(SiteSetting.key, SiteSetting.value).where(SiteSetting.key.like(f"{prefix}.%"))).all()
    stored = {key.split(".", 1)[1]: value for key, value in rows}
    return {name: stored.get(name, default) for name, default in defaults.items()}


def _save(prefix: str, values: dict[str, Any]) -> None:
    defaults = _PREFIX[prefix]
    for name, value in values.items():
        if name not in defaults:
            raise KeyError(name)
        key = f"{prefix}.{name}"
        row = db.session.execute(db.select(SiteSetting).where(SiteSetting.key == key)).scalar_one_or_none()
        if row is None:
            db.session.add(SiteSetting(key=key, value=value))
        else:
            row.value = value
    db.session.flush()


def lti_settings() -> dict[str, Any]:
    return _load("lti")


def lti_setting(name: str) -> Any:
    return lti_settings()[name]


def save_lti_settings(values: dict[str, Any]) -> None:
    """Values must already be validated (forms and the CLI share the validators)."""
    _save("lti", values)


def user_defaults() -> dict[str, Any]:
    return _load("userdefaults")


def save_user_defaults(values: dict[str, Any]) -> None:
    _save("userdefaults", values)
