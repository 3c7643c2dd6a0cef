"""The Canvas developer key configuration of a registration, served publicly at a URL named by the
registration's random login id (already in its Initiate login URL), never by its guessable row id."""
from __future__ import annotations

import re
from typing import Any

from app.extensions import db
from app.lti.registration import canvas_json_configuration
from app.models import PlatformRegistration
from app.services.errors import NotFound

LOGIN_ID = re.compile(r"[0-9a-f]{1,60}")
MSG_UNKNOWN = "No registration has this configuration URL. Copy it again from the registration's Tool details tab."


def json_configuration(login_id: str) -> dict[str, Any]:
    """Raises NotFound for an id no registration has."""
    known = LOGIN_ID.fullmatch(login_id) and db.session.execute(
        db.select(PlatformRegistration.id).where(PlatformRegistration.login_id == login_id)).scalar()
    if not known:
        raise NotFound(MSG_UNKNOWN)
    return canvas_json_configuration(login_id)
