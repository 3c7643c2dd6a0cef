"""The LTI 1.3 launch as the blueprints use it: login, validation, and the launch kept server-side for the
requests that continue it (the Welcome page, a resume, a new-window handoff).

A stored launch is bound to the browser session that validated it: its id is listed in that Flask session, and
`restore_launch` refuses ids the session does not hold.
"""
from __future__ import annotations

import secrets
from dataclasses import replace

from flask import Response, current_app, request, session
from flask_login import current_user

from app.lti import message
from app.lti.adapters import LaunchRequest, clear_state_cookie
from app.lti.errors import launch_error
from app.lti.launch_data import RESOURCE_LINK_REQUEST, LaunchData
from app.lti.login import LoginStart, start_login
from app.lti.storage import DbLaunchDataStorage
from app.models import User
from app.security import sign_in

__all__ = ["LAUNCHES_SESSION_KEY", "FRAME_SESSION_KEY", "EMBED_SESSION_KEY", "LaunchData", "LoginStart",
           "start_login", "validate_launch", "store_launch", "restore_launch", "forget_launch",
           "session_launch_ids", "bind_launches", "create_handoff", "take_handoff", "forget_state_cookie",
           "enter_launched_session"]

LAUNCH_LIFETIME = 3600
HANDOFF_LIFETIME = 120
LAUNCHES_SESSION_KEY = "lti_launches"
# Set by a launch for the rest of that browser session: the origins that may frame its pages, and the published
# course or activity whose pages use the embedded layout.
FRAME_SESSION_KEY = "lti_frame"
EMBED_SESSION_KEY = "lti_embed"
MAX_SESSION_LAUNCHES = 5


def validate_launch(*, leeway: int, message_type: str = RESOURCE_LINK_REQUEST) -> LaunchData:
    """Run the launch checks on this POST. Raises LtiError (its details say how far validation got).

    The deep-linking endpoint calls this with `message_type=LtiDeepLinkingRequest`.
    """
    params = LaunchRequest(request.form, secure=bool(current_app.config["SESSION_COOKIE_SECURE"]))
    return message.run(params, base_url=current_app.config["COURSEPORT_BASE_URL"], leeway=leeway,
                       message_type=message_type)


def enter_launched_session(user: User, embed_scope: dict[str, int] | None, frame_origins: list[str]) -> None:
    """A launch (LTI 1.3 or 1.1) landed: sign its user in (the session rotates unless it is already theirs; this
    browser keeps its launches) and remember which sites may frame the session's pages and whether they use the
    embedded layout."""
    if not (current_user.is_authenticated and current_user.id == user.id):
        sign_in(user, keep=(LAUNCHES_SESSION_KEY,))
    session[FRAME_SESSION_KEY] = frame_origins
    if embed_scope:
        session[EMBED_SESSION_KEY] = embed_scope
    else:
        session.pop(EMBED_SESSION_KEY, None)


def forget_state_cookie(response: Response, launch: LaunchData) -> None:
    """The login's state cookie has done its job once the launch POST validated."""
    state = request.form.get("state")
    if state and launch.cookie_method != "storage":  # no cookie was set: nothing to expire
        clear_state_cookie(response, state, secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
                           partitioned=launch.cookie_method == "partitioned")


def _launch_key(launch_id: str) -> str:
    return f"launch:{launch_id}"


def session_launch_ids() -> list[str]:
    return list(session.get(LAUNCHES_SESSION_KEY, []))


def bind_launches(launch_ids: list[str]) -> None:
    """List these launches in this browser session (the most recent few; older ones simply expire)."""
    session[LAUNCHES_SESSION_KEY] = list(dict.fromkeys(launch_ids))[-MAX_SESSION_LAUNCHES:]


def store_launch(launch: LaunchData, *, log_id: int, prompt_mode: int | None = None, bind: bool = True) -> None:
    """Keep the launch for 60 minutes with how far it got: its launch-log row and the provisioning mode the
    Welcome page asks in (None until a launch has been found to need it). `bind=False` when another window will
    claim it through a handoff."""
    kept = replace(launch, log_id=log_id, prompt_mode=prompt_mode)
    DbLaunchDataStorage().set_value(_launch_key(launch.launch_id), kept.to_json(), exp=LAUNCH_LIFETIME)
    if bind:
        bind_launches([*session_launch_ids(), launch.launch_id])


def restore_launch(launch_id: str) -> LaunchData:
    """The launch this browser validated. Unknown, expired, consumed or another browser's → LtiError 400."""
    value = DbLaunchDataStorage().get_value(_launch_key(launch_id)) if launch_id in session_launch_ids() else None
    if value is None:
        raise launch_error("bad_launch")
    return LaunchData.from_json(value)


def forget_launch(launch_id: str) -> bool:
    """Consume a stored launch; True for the one request that removed it."""
    bind_launches([known for known in session_launch_ids() if known != launch_id])
    return DbLaunchDataStorage().consume(_launch_key(launch_id))


def create_handoff(launch: LaunchData) -> str:
    """A single-use token (120 s) that lets a new top-level window take over this launch."""
    token = secrets.token_urlsafe(32)
    DbLaunchDataStorage().set_value(f"handoff:{token}", {"launch_id": launch.launch_id}, exp=HANDOFF_LIFETIME)
    return token


def take_handoff(token: str) -> LaunchData:
    """Consume a handoff and bind its launch to this browser session."""
    storage = DbLaunchDataStorage()
    handoff = storage.take(f"handoff:{token}")
    value = storage.get_value(_launch_key(handoff["launch_id"])) if handoff else None
    if value is None:
        raise launch_error("bad_launch")
    bind_launches([*session_launch_ids(), handoff["launch_id"]])
    return LaunchData.from_json(value)
