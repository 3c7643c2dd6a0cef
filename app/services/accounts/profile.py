"""Profile fields of an account, which LTI user default values seed.

One set of choices and checks serves the user form, the site defaults page, the publish form and the CLI.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import available_timezones

from app.services.accounts.countries import COUNTRIES

EMAIL_VISIBILITY = {0: "Hidden", 1: "Visible to everyone", 2: "Visible to course participants"}
LANGUAGES = {"en": "English (en)"}
CITY_MAX = 120
INSTITUTION_MAX = 40
# ProfileMixin's columns: an account's profile, and the defaults a published resource gives the accounts it creates.
PROFILE_FIELDS = ("email_visibility", "city", "country", "timezone", "lang", "institution")

MSG_EMAIL_VISIBILITY = ("Select a valid choice: 0 (Hidden), 1 (Visible to everyone) or 2 (Visible to course "
                        "participants).")
MSG_COUNTRY = "Select a country from the list (an ISO 3166 two-letter code such as GB)."
MSG_TIMEZONE = "Select a timezone from the list (an IANA name such as Europe/London)."
MSG_LANG = "Select an installed language: en."

# Names zoneinfo lists that are aliases of the local clock or tzdata internals, not places anyone picks.
_NOT_ZONES = {"localtime", "Factory", "posixrules"}


@lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones() - _NOT_ZONES))


def server_timezone() -> str:
    """The IANA name of this server's zone: $TZ, /etc/timezone, then the /etc/localtime link; else UTC."""
    zones = set(timezones())
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append(Path("/etc/timezone").read_text().strip())
    except OSError:
        pass
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        candidates.append(str(localtime.resolve()).split("zoneinfo/", 1)[-1])
    return next((name for name in candidates if name in zones), "UTC")


def max_length_message(limit: int) -> str:
    return f"Maximum of {limit} characters"


def clean_profile(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check the profile fields present in `raw` (strings from a form or the CLI, or stored values).

    Returns (values ready to store, messages by field). Fields not in `raw` are left alone.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "email_visibility" in raw:
        text = str(raw["email_visibility"]).strip()
        if text.isdigit() and int(text) in EMAIL_VISIBILITY:
            values["email_visibility"] = int(text)
        else:
            errors["email_visibility"] = MSG_EMAIL_VISIBILITY
    for name, limit in (("city", CITY_MAX), ("institution", INSTITUTION_MAX)):
        if name in raw:
            text = str(raw[name] or "").strip()
            if len(text) > limit:
                errors[name] = max_length_message(limit)
            else:
                values[name] = text
    if "country" in raw:
        code = str(raw["country"] or "").strip().upper()
        if code and code not in COUNTRIES:
            errors["country"] = MSG_COUNTRY
        else:
            values["country"] = code
    if "timezone" in raw:
        zone = str(raw["timezone"] or "").strip()
        if zone and zone not in timezones():
            errors["timezone"] = MSG_TIMEZONE
        else:
            values["timezone"] = zone  # empty = the server's timezone
    if "lang" in raw:
        lang = str(raw["lang"] or "").strip()
        if lang not in LANGUAGES:
            errors["lang"] = MSG_LANG
        else:
            values["lang"] = lang
    return values, errors
