"""Sessions for pages inside a platform's frame whose browser keeps no cookie for Courseport.

A launch bound through platform storage proved that the frame has no cookies, so its session cannot live in the
session cookie. It lives server-side instead, under a random token that moves from page to page:

* The launch's redirect carries the first token (`?lti_frame=…`); that request exchanges it for the session.
* Every exchange consumes the token (a conditional DELETE only one request wins) and stores the session under a
  new one. Pages name the new token in a `<meta name="lti-frame">`; static/js/lti_frame.js adds it to same-site
  links when they are followed and to forms as a hidden field; redirects get it in their Location here.
* So a token is good for exactly one request: the URLs left in the frame's history, in server access logs or in
  a Referer are spent by the time anyone could read them. Responses also say `Referrer-Policy: same-origin` (no
  other site ever sees these URLs; our own forms keep the same-origin Referer that Flask-WTF checks over HTTPS)
  and `Cache-Control: no-store`, and set no cookie at all.
* A token only opens its session for the browser (user agent) that launched: a link with someone else's token,
  sent from another kind of browser, does not sign its reader into their account.
* A request with a spent or expired token gets an anonymous session marked `ended`, so the launch blueprint can
  say "launch again" instead of showing a login page that would need cookies. Back and reload inside the frame
  therefore end the session; relaunching from the course starts a new one.

Requests without a token (every cookie-based session, the usual case) use Flask's signed cookie unchanged.
"""
from __future__ import annotations

import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Flask, Request, current_app, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, session_json_serializer
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app.extensions import db
from app.lti.storage import DbLaunchDataStorage

FRAME_PARAM = "lti_frame"
FRAME_LIFETIME = 3600  # idle time: each request stores the session again for this long
_TOKEN_MAX = 64
_BROWSER_KEY = "_frame_browser"


def _key(token: str) -> str:
    return f"frame:{token}"


class FrameAwareSession(SecureCookieSession):
    """`frame_token`: this session is kept server-side and handed to the next request under that token.
    `ended`: the request named a token that is spent or expired."""

    frame_token: str | None = None
    ended: bool = False


class FrameSessionInterface(SecureCookieSessionInterface):
    session_class = FrameAwareSession

    def open_session(self, app: Flask, request: Request) -> FrameAwareSession | None:
        token = None
        if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
            # A form's own field first: a form without an action posts to the page's URL, whose token is spent.
            try:
                token = request.form.get(FRAME_PARAM)
            except HTTPException:
                token = None  # an oversized body: the view refuses it when it reads the form
        token = token or request.args.get(FRAME_PARAM)
        if not token:
            return super().open_session(app, request)
        kept = DbLaunchDataStorage().take(_key(token)) if len(token) <= _TOKEN_MAX else None
        # The token is spent whatever the view does next; committing now also frees the write lock, which the
        # view's own short transactions (the login throttle's, for one) would otherwise wait on.
        db.session.commit()
        data = session_json_serializer.loads(kept["session"]) \
            if isinstance(kept, dict) and isinstance(kept.get("session"), str) else {}
        if not data or data.get(_BROWSER_KEY) != _browser(request):
            opened = self.session_class()
            opened.ended = True
            return opened
        opened = self.session_class(data)
        opened.frame_token = secrets.token_urlsafe(32)
        return opened

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        token = getattr(session, "frame_token", None)
        if token is None:
            super().save_session(app, session, response)
            return
        # Stamped on every save: sign-ins clear the session, and this request's browser is the one it belongs to.
        kept = {**session, _BROWSER_KEY: _browser(request)}
        DbLaunchDataStorage().set_value(_key(token), {"session": session_json_serializer.dumps(kept)},
                                        exp=FRAME_LIFETIME)
        db.session.commit()
        _hand_on(response, token)


def _browser(request: Request) -> str:
    return hashlib.sha256(request.user_agent.string.encode()).hexdigest()[:16]


def _same_site_location(location: str) -> bool:
    parts = urlsplit(location)
    if not parts.scheme and not parts.netloc:
        return location.startswith("/") and not location.startswith("//")
    return location.startswith(current_app.config["COURSEPORT_BASE_URL"] + "/")


def _hand_on(response: Response, token: str) -> None:
    """The next request's token goes into a same-site redirect; nothing about it may leak out of the frame."""
    location = response.headers.get("Location")
    if location and _same_site_location(location):
        parts = urlsplit(location)
        query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != FRAME_PARAM]
        response.headers["Location"] = urlunsplit(parts._replace(query=urlencode([*query, (FRAME_PARAM, token)])))
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"


def begin() -> None:
    """From this request on, the session lives server-side and travels by token (a launch bound by platform
    storage: the frame keeps no cookie)."""
    current = session._get_current_object()  # type: ignore[attr-defined]
    current.frame_token = secrets.token_urlsafe(32)


def current_token() -> str | None:
    """The token the next request of this frame must carry, or None for a cookie session."""
    return getattr(session._get_current_object(), "frame_token", None)  # type: ignore[attr-defined]


def ended() -> bool:
    """The request named a spent or expired frame token."""
    return bool(getattr(session._get_current_object(), "ended", False))  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    app.session_interface = FrameSessionInterface()

    @app.context_processor
    def frame_token() -> dict[str, Any]:
        return {"frame_token": current_token()}
