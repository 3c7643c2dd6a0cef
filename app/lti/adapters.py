"""Our adapters for pylti1p3's Flask classes: request parameters, cookies and the login-state record.

The library's own session service writes state, nonce and the whole launch into the Flask cookie session; these
keep one server-side row per login instead and leave the cookie session alone.
"""
from __future__ import annotations

from typing import Any

from pylti1p3.contrib.flask import FlaskCookieService, FlaskRequest, FlaskSessionService

from app.lti.storage import DbLaunchDataStorage

STATE_LIFETIME = 600
STATE_COOKIE_PREFIX = "lti1p3-"


def state_key(state: str) -> str:
    return f"state:{state}"


class LaunchRequest(FlaskRequest):
    """The login reads parameters from the query string or the form (platforms do both, and the Initiate login
    URL's `id` stays in the query of a POST); the launch reads only its form."""

    def __init__(self, params: Any, *, secure: bool) -> None:
        super().__init__(request_is_secure=secure)
        self._request_data = params  # set here: the base class ignores an empty mapping

    def get_param(self, key: str) -> Any:
        return self._request_data.get(key)


class StateCookieService(FlaskCookieService):
    """The per-login state cookie: HttpOnly, 10 minutes; over HTTPS `SameSite=None; Secure`, plus `Partitioned`
    when the probe found only partitioned cookies working; plain `SameSite=Lax` on http development hosts."""

    def __init__(self, request: LaunchRequest) -> None:
        super().__init__(request)
        self.partitioned = False

    def update_response(self, response: Any) -> None:
        secure = self._request.is_secure()
        for key, data in self._cookie_data_to_set.items():
            # The library asks for 5 minutes; the login state it guards lives 10.
            response.set_cookie(key, data["value"], max_age=STATE_LIFETIME, path="/", httponly=True, secure=secure,
                                samesite="None" if secure else "Lax", partitioned=secure and self.partitioned)


def clear_state_cookie(response: Any, state: str, *, secure: bool, partitioned: bool) -> None:
    """Expire a used state cookie with the attributes it was set with (browsers ignore a mismatched delete)."""
    response.delete_cookie(STATE_COOKIE_PREFIX + state, path="/", httponly=True, secure=secure,
                           samesite="None" if secure else "Lax", partitioned=secure and partitioned)


class StateSessionService(FlaskSessionService):
    """Keeps the nonce and the login's parameters together in one `state:…` row that the launch consumes."""

    def __init__(self, request: LaunchRequest, storage: DbLaunchDataStorage) -> None:
        super().__init__(request)
        self.set_data_storage(storage)
        self._nonce: str | None = None
        self.saved_state: str | None = None

    def save_nonce(self, nonce: str) -> None:
        # The library saves the nonce just before the state parameters; both go into the state row.
        self._nonce = nonce

    def save_state_params(self, state: str, params: dict[str, object]) -> None:
        self.data_storage.set_value(state_key(state), {**params, "nonce": self._nonce}, exp=STATE_LIFETIME)
        self.saved_state = state

    def get_state_params(self, state: str) -> dict[str, Any] | None:
        return self.data_storage.get_value(state_key(state))
