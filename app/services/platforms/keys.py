"""Tool keys as the admin sees them: list with states, rotate with the configured grace period."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.extensions import db
from app.lti import keys
from app.models import ToolKey
from app.services.platforms.settings import lti_setting

STATE_LABELS = {keys.NEXT: "Next", keys.CURRENT: "Current", keys.PREVIOUS: "Previous", keys.RETIRED: "Retired"}
_STATE_ORDER = {keys.NEXT: 0, keys.CURRENT: 1, keys.PREVIOUS: 2, keys.RETIRED: 3}


@dataclass(frozen=True)
class KeyRow:
    """Public facts about one key; never its private half."""

    kid: str
    state: str
    created_at: datetime
    activated_at: datetime | None
    retire_after: datetime | None
    published: bool

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    def as_dict(self) -> dict:
        return {"kid": self.kid, "state": self.state_label, "created": self.created_at,
                "activated": self.activated_at, "retires": self.retire_after, "published_in_jwks": self.published}


def grace_days() -> int:
    return int(lti_setting("key_rotation_grace_days"))


def list_keys() -> list[KeyRow]:
    """Every key, Next first."""
    published = {key.kid for key in keys.published_keys()}
    rows = db.session.execute(db.select(ToolKey)).scalars()
    ordered = sorted(rows, key=lambda key: (_STATE_ORDER[key.state], -key.id))
    return [KeyRow(key.kid, key.state, key.created_at, key.activated_at, key.retire_after, key.kid in published)
            for key in ordered]


def ensure_keys() -> None:
    """Create the Current and Next keys where missing; idempotent, and safe from several processes at once."""
    keys.ensure_keys()


def rotate_keys() -> ToolKey:
    """Next becomes Current; the old Current stays published for the grace period; expired ones retire."""
    keys.retire_expired()
    return keys.rotate(grace_days())
