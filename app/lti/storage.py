"""Server-side launch storage: used login nonces, validated launches, new-window handoffs and frame sessions in
LtiStorageEntry rows.

Besides reads and writes, `claim()` and `consume()`: an INSERT and a conditional DELETE that only one request can
win, which is what makes a login's nonce or a handoff single-use across processes. (pylti1p3 itself is given no
storage: the login's state carries what the library would keep, see app/lti/login_state.py.)
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.models.base import utcnow
from app.models.queries.lti_storage import CLAIM as _CLAIM, CONSUME as _CONSUME, GET as _GET, SET as _SET

DEFAULT_LIFETIME = 3600


class DbLaunchDataStorage:
    """Keys are namespaced by their callers (`nonce:…`, `launch:…`, `handoff:…`, `frame:…`); values are JSON."""

    def get_value(self, key: str) -> Any:
        return _GET.scalar(key=key, now=utcnow())

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        _SET.execute(key=key, value=value, expires_at=utcnow() + timedelta(seconds=exp or DEFAULT_LIFETIME))

    def claim(self, key: str, exp: int) -> bool:
        """Insert a key that must not exist yet; True only for the one request whose INSERT created it. The row
        stays, expired or not, until the maintenance sweep removes expired rows."""
        return _CLAIM.execute(key=key, expires_at=utcnow() + timedelta(seconds=exp)) == 1

    def consume(self, key: str) -> bool:
        """Delete an unexpired entry; True only for the one request whose DELETE removed it."""
        return _CONSUME.execute(key=key, now=utcnow()) == 1

    def take(self, key: str) -> Any:
        """Read and consume in one step: the value, or None when it is gone, expired or another request won."""
        value = self.get_value(key)
        if value is None or not self.consume(key):
            return None
        return value
