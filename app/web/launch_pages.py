"""The pages that answer a launch, shared by the LTI 1.3, LTI 1.1 and deep-linking blueprints: the refusal page,
the new-window handoff, and where a resource launch goes once its outcome is known.

Every function here commits: each one ends the request's single transaction (a refusal commits its log row and
the consumed login state; an accepted launch its row, account, enrolment and records together).
"""
from __future__ import annotations

from typing import Any

from flask import make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.extensions import db
from app.lti.errors import LtiError
from app.lti.launch import LaunchData, create_handoff, enter_launched_session, forget_launch, store_launch
from app.lti.platform_storage import StorageRequest
from app.security import allow_framing
from app.services.launch import flow as lti13
from app.services.launch import log as launch_log
from app.services.launch import outcome as launch_outcome
from app.services.platforms.framing import frame_ancestors

ERROR_TITLE = "The tool could not be launched"
OPEN_TOOL_TITLE = "Open tool"
STORAGE_TITLE = "Opening the tool"

def attempt() -> launch_log.Attempt:
    """Where this request came from, for its launch-log row."""
    return launch_log.Attempt(user_agent=request.user_agent.string, ip=request.remote_addr)


def framed_launch_page(settings: dict[str, Any], launch: LaunchData | None = None) -> None:
    """A page answering the launch itself shows inside the platform's frame whatever the embedding setting
    (the launch's own platform, once it validated)."""
    allow_framing(frame_ancestors(settings, launch, launch_page=True))


def error_page(error: LtiError, reference: int | None = None) -> tuple[str, int]:
    return render_template("errors/error.html", layout="embedded.html", title=ERROR_TITLE, message=error.message,
                           reference=reference), error.status


def refuse(kind: str, error: LtiError, settings: dict[str, Any], launch: LaunchData | None = None, *,
           validating: bool = False) -> tuple[str, int]:
    """Log the refusal (with the launch's fields once it validated) and show the LTI error page with its log row
    as the reference. While validating, an unknown deployment is held for approval (or only logged) per the
    site's policy."""
    error, row = lti13.record_refusal(kind, error, attempt(), settings, launch, validating=validating)
    db.session.commit()
    framed_launch_page(settings, launch)
    return error_page(error, row.id)


def hand_off(launch: LaunchData, settings: dict[str, Any], *, log_id: int, prompt_mode: int | None = None) -> Response:
    """The frame cannot keep a session (or embedding is off): the launch continues in a new top-level window
    through a single-use handoff, which provisions and enrols there."""
    store_launch(launch, bind=False, log_id=log_id, prompt_mode=prompt_mode)
    token = create_handoff(launch)
    db.session.commit()
    framed_launch_page(settings, launch)
    template = "launch/new_window.html" if launch.cookie_method == "none" else "launch/open_tool.html"
    return make_response(render_template(template, title=OPEN_TOOL_TITLE,
                                         handoff_url=url_for("launch.handoff", token=token)))


def storage_page(storage: StorageRequest, settings: dict[str, Any], relaunch_url: str | None, *,
                 login_response: Response | None = None, cookies_blocked: bool = True,
                 relaunch: bool = False) -> Response:
    """The page that talks to the platform's storage. At login (`login_response`: the redirect to the platform,
    whose state cookie it keeps) it stores the secret, then goes on to the platform; at launch (`relaunch`) it
    fetches the secret and posts this launch again with it. It writes nothing."""
    config = storage.script_config()
    if login_response is not None:
        config.update(next=login_response.headers["Location"], fallback="notice" if cookies_blocked else "navigate")
    launch_form = {"action": request.path, "id_token": request.form.get("id_token", ""),
                   "state": request.form.get("state", "")} if relaunch else None
    framed_launch_page(settings)
    response = make_response(render_template("launch/platform_storage.html", title=STORAGE_TITLE, config=config,
                                             relaunch_url=relaunch_url, launch_form=launch_form))
    for cookie in (login_response.headers.getlist("Set-Cookie") if login_response is not None else ()):
        response.headers.add("Set-Cookie", cookie)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def welcome(launch_id: str, code: int = 302) -> Response:
    return redirect(url_for("provisioning.account", launch_id=launch_id), code)


def proceed(kind: str, launch: LaunchData, settings: dict[str, Any], *, stored: bool) -> Response:
    """Land a resource launch (LTI 1.3 or 1.1), or keep it for the Welcome page. `stored`: it is a resumed launch,
    consumed once it lands. Raises LtiError before anything is written."""
    result = launch_outcome.begin(launch, settings)
    if isinstance(result, launch_outcome.Prompt):
        log_id = launch_log.launch_row(kind, launch, attempt(), resource_id=result.resource.id)
        store_launch(launch, log_id=log_id, prompt_mode=result.mode)
        db.session.commit()
        return welcome(launch.launch_id)
    launch_log.launch_row(kind, launch, attempt(), resource_id=result.resource.id, user_id=result.user.id)
    if stored:
        forget_launch(launch.launch_id)
    enter_launched_session(result.user, result.embed_scope, frame_ancestors(settings, launch))
    db.session.commit()
    return redirect(result.path)
