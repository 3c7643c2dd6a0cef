"""Site settings and LTI user default values, stored as SiteSetting rows."""
from __future__ import annotations

import copy
import re
from typing import Any, Iterable, Mapping

from app.extensions import db
from app.models import SiteSetting
from app.models.base import conflict_insert, utcnow
from app.models.config_cache import cached
from app.models.queries.settings import STORED as _STORED
from app.services.errors import ValidationErrors
from app.services.accounts.profile import clean_profile

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


def _read(prefix: str) -> dict[str, Any]:
    defaults = _PREFIX[prefix]
    rows = _STORED.all(pattern=f"{prefix}.%")
    stored = {key.split(".", 1)[1]: value for key, value in rows}
    return {name: stored.get(name, default) for name, default in defaults.items()}


def _load(prefix: str) -> dict[str, Any]:
    """Every launch reads the LTI settings: from this process's copy while no setting changed (a deep copy out:
    callers may change what they are given)."""
    return copy.deepcopy(cached("settings", (prefix,), lambda: _read(prefix)))


def _save(prefix: str, values: dict[str, Any]) -> None:
    defaults = _PREFIX[prefix]
    now = utcnow()
    for name, value in values.items():
        if name not in defaults:
            raise KeyError(name)
        # One statement: two admins saving at once both succeed, the later value stays.
        insert = conflict_insert(SiteSetting).values(key=f"{prefix}.{name}", value=value, created_at=now,
                                                     updated_at=now)
        db.session.execute(insert.on_conflict_do_update(index_elements=["key"], set_={
            "value": insert.excluded.value, "updated_at": now}))


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


# --- Validation shared by the admin forms and `flask lti settings|defaults set` -------------------------------

MSG_YES_NO = "Enter Yes or No."
MSG_UNKNOWN_DEPLOYMENTS = 'Select "Reject launches" (reject) or "Hold for approval" (hold).'

_BOOLEAN_SETTINGS = ("allow_frame_embedding", "allow_account_creation", "allow_admin_linking")
_INTEGER_SETTINGS = {
    "clock_leeway": (0, 300),
    "registration_url_lifetime_days": (1, 90),
    "key_rotation_grace_days": (1, 90),
    "sync_interval_minutes": (5, 1440),
    "launch_log_retention_days": (1, 365),
}
_TRUE = {"1", "yes", "y", "true", "on"}
_FALSE = {"0", "no", "n", "false", "off"}
# scheme://host[:port] as CSP accepts it in frame-ancestors (a leading "*." label included). Anything else is
# refused, which also keeps spaces and semicolons out of the header the origins are written into.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ORIGIN_RE = re.compile(rf"^(https?)://((?:\*\.)?{_LABEL}(?:\.{_LABEL})*|\[[0-9a-f:.]+\])(?::(\d{{1,5}}))?/?$",
                        re.IGNORECASE)


def unknown_setting_message(name: str, known: Iterable[str]) -> str:
    return f"Unknown setting: {name}. Known settings: {', '.join(known)}."


def whole_number_message(low: int, high: int) -> str:
    return f"Enter a whole number between {low} and {high}."


def invalid_origin_message(line: str) -> str:
    return f"Invalid origin: {line}"


def _parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _parse_int(value: Any, low: int, high: int) -> int | None:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if low <= number <= high else None


def normalise_origin(line: str) -> str | None:
    """`scheme://host[:port]` in lower case without a trailing slash, or None if the line is not an origin."""
    match = _ORIGIN_RE.match(line)
    if not match or (match.group(3) and not 1 <= int(match.group(3)) <= 65535):
        return None
    return line.rstrip("/").lower()


def _parse_origins(value: Any) -> tuple[list[str], str | None]:
    """The origins, or a message naming every line that is not one (one per line), so all get fixed at once."""
    lines = value if isinstance(value, (list, tuple)) else str(value or "").splitlines()
    origins: list[str] = []
    invalid: list[str] = []
    for line in (str(item).strip() for item in lines):
        if not line:
            continue
        origin = normalise_origin(line)
        if origin is None:
            invalid.append(invalid_origin_message(line))
        elif origin not in origins:
            origins.append(origin)
    return ([], "\n".join(invalid)) if invalid else (origins, None)


def clean_lti_settings(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check LTI settings given as form or CLI text (or typed values). Returns (values, messages by field)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in raw.items():
        if name in _BOOLEAN_SETTINGS:
            flag = _parse_bool(value)
            if flag is None:
                errors[name] = MSG_YES_NO
            else:
                values[name] = flag
        elif name in _INTEGER_SETTINGS:
            low, high = _INTEGER_SETTINGS[name]
            number = _parse_int(value, low, high)
            if number is None:
                errors[name] = whole_number_message(low, high)
            else:
                values[name] = number
        elif name == "unknown_deployments":
            choice = str(value).strip().lower()
            if choice in (UNKNOWN_DEPLOYMENT_REJECT, UNKNOWN_DEPLOYMENT_HOLD):
                values[name] = choice
            else:
                errors[name] = MSG_UNKNOWN_DEPLOYMENTS
        elif name == "additional_frame_ancestors":
            origins, message = _parse_origins(value)
            if message:
                errors[name] = message
            else:
                values[name] = origins
        else:
            errors[name] = unknown_setting_message(name, LTI_SETTINGS_DEFAULTS)
    return values, errors


def update_lti_settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and store; nothing is stored if any value is wrong. Returns every setting after the change."""
    values, errors = clean_lti_settings(raw)
    if errors:
        raise ValidationErrors(errors)
    save_lti_settings(values)
    return lti_settings()


def clean_user_defaults(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    unknown = {name: unknown_setting_message(name, USER_DEFAULTS_DEFAULTS)
               for name in raw if name not in USER_DEFAULTS_DEFAULTS}
    values, errors = clean_profile({name: value for name, value in raw.items() if name not in unknown})
    return values, {**errors, **unknown}


def update_user_defaults(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and store user default values; nothing is stored if any value is wrong."""
    values, errors = clean_user_defaults(raw)
    if errors:
        raise ValidationErrors(errors)
    save_user_defaults(values)
    return user_defaults()
