"""OIDC third-party initiated login on pylti1p3's FlaskOIDCLogin, with our registration lookup,
target check, cookie probe and a single server-side state row."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, redirect, request
from pylti1p3.contrib.flask import FlaskOIDCLogin
from sqlalchemy import or_, select

from app.extensions import db
from app.lti.adapters import LaunchRequest, StateCookieService, StateSessionService
from app.lti.errors import LtiError, launch_error
from app.lti.platform_storage import StorageRequest, new_secret, platform_origin, storage_key, storage_target
from app.lti.storage import DbLaunchDataStorage
from app.lti.tool_config import DbToolConf, RegistrationRef, ToolRegistration, active_registrations
from app.models import PlatformRegistration
from app.models.platforms import STATUS_ACTIVE

TARGETS = {"/lti/launch": "launch", "/lti/deeplink": "deeplink"}
TARGET_PATHS = {kind: path for path, kind in TARGETS.items()}
PROBE_COOKIE = "lti1p3-probe"
PROBE_PARTITIONED_COOKIE = "lti1p3-probe-partitioned"
PROBE_SECONDS = 30
COOKIE = "cookie"
PARTITIONED = "partitioned"
NO_COOKIES = "none"
STORAGE = "storage"
NEW_WINDOW = "new_window"
# Added to the login URL a cookie notice opens in a new window, so the launch log can tell that path apart.
NEW_WINDOW_PARAM = "lti_new_window"
MAX_PARAMETER = 4096  # characters in one login parameter (lti_message_hint may be a signed token)


@dataclass
class LoginStart:
    """What the login view sends back, and what the launch log should say about it."""

    response: Response | None
    registration: RegistrationRef
    cookie_method: str | None
    deployment_hint: str | None
    relaunch_url: str | None = None  # the same login, for a new window (cookies blocked, or storage may fail)
    storage: StorageRequest | None = None  # set when the login's secret goes to the platform's storage first
    no_cookie: bool = False  # the probe found no cookie working: without the platform's answer, a new window

    @property
    def cookies_blocked(self) -> bool:
        return self.response is None


class CourseportOIDCLogin(FlaskOIDCLogin):
    """pylti1p3's login with our parameter checks and registration lookup (by issuer and client ID, by the
    login URL's id, or the issuer's only registration) and random values of at least 128 bits."""

    def __init__(self, params: LaunchRequest, storage: DbLaunchDataStorage, cookies: StateCookieService, *,
                 base_url: str) -> None:
        super().__init__(params, DbToolConf(), session_service=StateSessionService(params, storage),
                         cookie_service=cookies, launch_data_storage=storage)
        self._base_url = base_url
        self._found: ToolRegistration | None = None
        self.target = ""

    @property
    def issued_state(self) -> str:
        """The `state` the redirect carries (known once `redirect()` ran)."""
        state = self._session_service.saved_state
        assert state is not None, "redirect() runs first"
        return state

    def _get_uuid(self) -> str:
        return secrets.token_urlsafe(24)

    def _generate_nonce(self) -> str:
        return secrets.token_urlsafe(24)

    def validate_oidc_login(self) -> ToolRegistration:
        if self._found is None:
            _check_lengths(request.values)
            iss = self._get_request_param("iss")
            if not iss:
                raise launch_error("login_no_iss")
            if not self._get_request_param("login_hint"):
                raise launch_error("login_no_login_hint", iss=iss)
            target = self._get_request_param("target_link_uri")
            if not target:
                raise launch_error("login_no_target", iss=iss)
            self.target = self._check_target(target, iss)
            self._found = self._find_registration(iss, self._get_request_param("client_id") or None,
                                                  self._get_request_param("id") or None)
        return self._found

    def _check_target(self, target: str, iss: str) -> str:
        """`launch` or `deeplink`: the target must be one of our two redirect URIs, query string aside."""
        bare = target.split("#", 1)[0].split("?", 1)[0]
        for path, kind in TARGETS.items():
            if bare == self._base_url + path:
                return kind
        raise launch_error("login_bad_target", target=target, base=self._base_url, iss=iss)

    def _find_registration(self, iss: str, client_id: str | None, login_id: str | None) -> ToolRegistration:
        conf: DbToolConf = self._tool_config
        if client_id:
            found = conf.find_registration_by_params(iss, client_id)
            if found and login_id and found.model.login_id != login_id:
                current_app.logger.warning("LTI login for %s / %s came through the Initiate login URL of another "
                                           "registration", iss, client_id)
        else:
            found = (conf.find_registration_by_login_id(iss, login_id) if login_id else None) \
                or conf.find_registration_by_params(iss, None)
        if found is None:
            raise _registration_error(iss, client_id, login_id)
        return found


def _check_lengths(params: Any) -> None:
    """Every login parameter is short (identifiers, a URL, opaque hints); a longer one is refused before use."""
    for name, value in params.items(multi=True):
        if len(name) > MAX_PARAMETER or len(value) > MAX_PARAMETER:
            raise launch_error("login_parameter_too_long", name=name[:40], length=max(len(name), len(value)),
                               limit=MAX_PARAMETER, iss=params.get("iss"))


def _registration_error(iss: str, client_id: str | None, login_id: str | None) -> LtiError:
    """Why no Active registration matched, in the words the log needs."""
    named = db.session.execute(select(PlatformRegistration).where(
        PlatformRegistration.login_id == login_id)).scalar_one_or_none() if login_id else None
    if named is not None and client_id and named.issuer == iss and named.client_id != client_id:
        return launch_error("client_id_mismatch", iss=iss, client_id=client_id, name=named.name,
                            a=named.client_id, b=client_id, registration=named)
    conditions = [PlatformRegistration.login_id == login_id] if login_id else []
    if client_id:
        conditions.append((PlatformRegistration.issuer == iss) & (PlatformRegistration.client_id == client_id))
    pending = db.session.execute(select(PlatformRegistration).where(
        PlatformRegistration.status != STATUS_ACTIVE, or_(*conditions))).scalars().first() if conditions else None
    if pending is not None:
        return launch_error("registration_pending", iss=iss, client_id=client_id, name=pending.name,
                            registration=pending)
    known = active_registrations(iss)
    if not known:
        detail = "No registration uses this issuer."
    elif client_id:
        detail = "Registrations for this issuer use other client IDs."
    else:
        detail = ("The issuer has several registrations and the login named none of them (no client_id, and no "
                  "id from an Initiate login URL).")
    return launch_error("registration_not_found", iss=iss, client_id=client_id, detail=detail)


def _login_url(base_url: str, params: Any, **extra: str) -> str:
    items = [(key, value) for key, value in params.items(multi=True) if key != "cookiecheck"]
    return f"{base_url}/lti/login?{urlencode(items + list(extra.items()))}"


def _new_window_url(base_url: str, params: Any) -> str:
    """The login again, for a top-level window: there cookies are first-party, so no platform storage."""
    items = [(key, value) for key, value in params.items(multi=True)
             if key not in ("cookiecheck", "lti_storage_target", NEW_WINDOW_PARAM)]
    return f"{base_url}/lti/login?{urlencode(items + [(NEW_WINDOW_PARAM, '1')])}"


def _probe(base_url: str, params: Any) -> Response | str:
    """Set two test cookies and come back, then see which one the browser kept."""
    if not params.get("cookiecheck"):
        response = redirect(_login_url(base_url, params, cookiecheck="1"))
        response.set_cookie(PROBE_COOKIE, "1", max_age=PROBE_SECONDS, secure=True, httponly=True, samesite="None")
        response.set_cookie(PROBE_PARTITIONED_COOKIE, "1", max_age=PROBE_SECONDS, secure=True, httponly=True,
                            samesite="None", partitioned=True)
        return response
    if request.cookies.get(PROBE_COOKIE):
        return COOKIE
    return PARTITIONED if request.cookies.get(PROBE_PARTITIONED_COOKIE) else NO_COOKIES


def start_login(base_url: str) -> LoginStart | Response:
    """Validate the login request and answer it: the probe redirect (a bare Response), the cookie notice
    (LoginStart without a response) or the redirect to the platform's authentication URL.

    Raises LtiError for each refused login. Writes the state row; the caller commits.
    """
    params = request.values
    secure = bool(current_app.config["SESSION_COOKIE_SECURE"])
    storage = DbLaunchDataStorage()
    adapter = LaunchRequest(params, secure=secure)
    cookies = StateCookieService(adapter)
    login = CourseportOIDCLogin(adapter, storage, cookies, base_url=base_url)
    registration = login.validate_oidc_login()
    deployment_hint = params.get("lti_deployment_id") or params.get("deployment_id")
    cookie_method, proven = COOKIE, False
    if secure and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        probed = _probe(base_url, params)
        if isinstance(probed, Response):
            return probed
        cookie_method, proven = probed, probed != NO_COOKIES
    elif secure:
        proven = True  # the browser sent our session cookie: cookies work here
    # Platform storage only where a cookie is not known to work: over HTTPS the probe found none, on a plain
    # http host it was not probed. A browser whose cookie works keeps the plain redirect (no extra page).
    target = storage_target(params.get("lti_storage_target")) if not proven else None
    origin = platform_origin(registration.model.auth_request_url) if target else None
    # Only the fallbacks (the cookie notice, a platform that does not answer) need the login for a new window.
    relaunch_url = _new_window_url(base_url, params) if origin or cookie_method == NO_COOKIES else None
    if cookie_method == NO_COOKIES and not origin:
        return LoginStart(None, registration.model, cookie_method, deployment_hint, relaunch_url=relaunch_url)
    if params.get(NEW_WINDOW_PARAM) == "1" and cookie_method == COOKIE:
        cookie_method = NEW_WINDOW
    cookies.partitioned = cookie_method == PARTITIONED
    secret = new_secret() if origin else None
    login.pass_params_to_launch({
        "registration_id": registration.model.id,
        "client_id": registration.get_client_id(),
        "target": login.target,
        "deployment_hint": deployment_hint,
        "cookie_method": cookie_method,
        "storage_target": target if origin else None,
        "storage_origin": origin,
        "storage_secret": secret,
        "relaunch_url": relaunch_url if origin else None,
    })
    response = login.redirect(base_url + TARGET_PATHS[login.target])
    if not origin:
        return LoginStart(response, registration.model, cookie_method, deployment_hint)
    assert target is not None and secret is not None
    state = login.issued_state
    return LoginStart(response, registration.model, STORAGE, deployment_hint, relaunch_url=relaunch_url,
                      storage=StorageRequest(target, origin, storage_key(state), secret),
                      no_cookie=cookie_method == NO_COOKIES)
