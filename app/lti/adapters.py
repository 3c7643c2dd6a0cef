"""Our adapters for pylti1p3's Flask classes: request parameters, cookies and the login state.

The library's own session service writes state, nonce and the whole launch into the Flask cookie session; here
the nonce and the login's parameters travel inside the signed state (app/lti/login_state.py) and the cookie session
is left alone.
"""
from __future__ import annotations

from typing import Any

from pylti1p3.contrib.flask import FlaskCookieService, FlaskRequest, FlaskSessionService

from app.lti.login_state import STATE_LIFETIME

STATE_COOKIE_PREFIX = "lti1p3-"


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


class SignedStateSession(FlaskSessionService):
    """The library hands its session service the nonce and the login's parameters to keep until the launch; they
    are already inside the signed state, so this one keeps nothing (and never touches the cookie session)."""

    def save_nonce(self, nonce: str) -> None:
        pass

    def save_state_params(self, state: str, params: dict[str, object]) -> None:
        pass
