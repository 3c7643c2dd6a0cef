"""Who may see what, safe redirects, and the security headers every response carries."""
from __future__ import annotations

import secrets
from functools import wraps
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, abort, g, request, session
from flask_login import current_user, login_user

from app.extensions import login_manager
from app.models import User
from app.models.queries.accounts import USER as _USER

F = TypeVar("F", bound=Callable[..., Any])


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """`{user id}.{session generation}` (User.get_id): a session from before the account's sessions were ended
    (logout, password change, suspension, an unlinked identity) finds no user and is anonymous."""
    user_id, _, generation = session_id.partition(".")
    if not (user_id.isdigit() and generation.isdigit()):
        return None
    # Every signed-in request loads its user: one driver-level statement.
    found = _USER.instances(User, id=int(user_id), generation=int(generation))
    return found[0] if found else None


def admin_required(view: F) -> F:
    """Anonymous users go to the login page; signed-in non-admins get 403."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_site_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def sign_in(user: User, *, keep: tuple[str, ...] = ()) -> None:
    """Rotate the session on every sign-in (password, link, launch) so a planted session id is worthless.

    `keep` names session keys that belong to this browser rather than to the account (the LTI launches it
    validated), carried across the rotation."""
    kept = {key: session[key] for key in keep if key in session}
    session.clear()
    login_user(user)
    session.update(kept)


def safe_next_url(target: str | None) -> str | None:
    """Only same-site paths: no scheme, no host, no protocol-relative '//evil' or backslash tricks."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def allow_form_action(origin: str) -> None:
    """Let this response's page post a form to another origin (deep-linking and LTI 2 return pages)."""
    g.setdefault("form_action_origins", []).append(origin)


def allow_framing(origins: list[str]) -> None:
    """Mark this response as embeddable by these origins (LMS pages), replacing the default 'self' only."""
    g.frame_ancestors = origins


def deny_framing() -> None:
    """This page shows secrets: no frame may hold it, whatever the session's launch allowed."""
    g.pop("frame_ancestors", None)


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _security_headers(response: Response) -> Response:
    frame_ancestors = ["'self'", *g.get("frame_ancestors", [])]
    form_action = ["'self'", *g.get("form_action_origins", [])]
    policy = [
        "default-src 'self'",
        f"script-src 'self' 'nonce-{csp_nonce()}'",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "object-src 'none'",
        "base-uri 'self'",
        f"form-action {' '.join(form_action)}",
        f"frame-ancestors {' '.join(frame_ancestors)}",
    ]
    response.headers["Content-Security-Policy"] = "; ".join(policy)
    if "frame_ancestors" not in g:
        response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")  # pages may be stricter
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to access this page."
    login_manager.session_protection = "basic"
    app.after_request(_security_headers)
