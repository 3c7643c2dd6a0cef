"""Content selection (Deep Linking 2.0): the platform's LtiDeepLinkingRequest, the "Published
content" page, and the signed response auto-posted back to the platform.

Only the protocol POST /lti/deeplink is CSRF-exempt (state, nonce and the platform's signature protect it). The
page and its form belong to the browser session that validated the launch, and the form keeps CSRF. Accounts
always follow mode 3, "Existing accounts only (prompt)": an unbound teacher links an existing account first.
"""
from __future__ import annotations

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for

from app.extensions import csrf, db
from app.lti.deep_linking import DeepLinkSettings, response_jwt
from app.lti.errors import LtiError, launch_error
from app.lti.launch import (
    LaunchData, create_handoff, enter_launched_session, forget_launch, forget_state_cookie, restore_launch,
    store_launch, validate_launch,
)
from app.lti.launch_data import DEEP_LINKING_REQUEST
from app.models import PlatformRegistration, User
from app.models.tools import PROVISION_PROMPT_EXISTING
from app.security import allow_form_action, allow_framing
from app.services.publishing import content_selection as deep_linking
from app.services.launch import log as launch_log
from app.services.launch import flow as lti_launch
from app.services.launch import provisioning
from app.services.errors import ServiceError
from app.services.platforms.framing import frame_ancestors
from app.services.launch.log import Attempt
from app.services.platforms.settings import lti_settings

bp = Blueprint("deeplink", __name__)

ERROR_TITLE = "The tool could not be launched"
PAGE_TITLE = "Open tool"
RESPONSE_MESSAGE_TYPE = "LtiDeepLinkingResponse"


def _attempt() -> Attempt:
    return Attempt(user_agent=request.user_agent.string, ip=request.remote_addr)


def _framed(settings: dict, launch: LaunchData | None = None) -> None:
    """These pages show inside the platform's frame (the launch's own platform, once validated)."""
    allow_framing(frame_ancestors(settings, launch))


def _log_fields(launch: LaunchData, message_type: str | None = None) -> dict:
    return {"issuer": launch.issuer, "client_id": launch.client_id, "deployment_id": launch.deployment_id,
            "subject": launch.subject, "message_type": message_type or launch.message_type,
            "cookie_method": launch.cookie_method, "clock_skew": launch.clock_skew}


def _refuse(kind: str, error: LtiError, settings: dict, *, validating: bool = False):
    error, row = lti_launch.record_refusal(kind, error, _attempt(), settings, validating=validating)
    db.session.commit()
    _framed(settings)
    return render_template("errors/error.html", layout="embedded.html", title=ERROR_TITLE, message=error.message,
                           reference=row.id), error.status


def _restore(launch_id: str) -> LaunchData:
    """This browser's waiting deep-linking launch; anything else (a resource launch's id included) is gone."""
    try:
        launch = restore_launch(launch_id)
    except LtiError:
        raise launch_error("deep_link_launch_missing") from None
    if not launch.is_deep_link:
        raise launch_error("deep_link_launch_missing")
    return launch


def _account(launch: LaunchData, settings: dict) -> User | None:
    """Mode 3: the bound account signs in (a suspended one is refused); None while the identity is unbound."""
    user = provisioning.launch_user(launch)
    if user is None:
        return None
    provisioning.ensure_can_launch(user)
    enter_launched_session(user, None, frame_ancestors(settings, launch))
    launch_log.mark_user(launch.log_id, user.id)
    return user


def _welcome(launch: LaunchData):
    return redirect(url_for("provisioning.account", launch_id=launch.launch_id), 303)


@bp.post("/lti/deeplink")
@csrf.exempt
def request_content():
    """Deep linking URL: validate the LtiDeepLinkingRequest, then sign in or ask."""
    settings = lti_settings()
    try:
        launch = validate_launch(leeway=settings["clock_leeway"], message_type=DEEP_LINKING_REQUEST)
    except LtiError as error:
        return _refuse(launch_log.KIND_DEEP_LINKING, error, settings, validating=True)
    registration = db.session.get(PlatformRegistration, launch.registration_id)
    launch.prompt_mode = PROVISION_PROMPT_EXISTING
    try:
        DeepLinkSettings.from_launch(launch)
        user = provisioning.launch_user(launch)
        if user is not None:
            provisioning.ensure_can_launch(user)
            provisioning.refresh_profile(user, launch, registration)
    except LtiError as error:
        error.details = {**_log_fields(launch), "registration": registration, **error.details}
        return _refuse(launch_log.KIND_DEEP_LINKING, error, settings)
    row = launch_log.record(launch_log.KIND_DEEP_LINKING, launch_log.SUCCESS, _attempt(), registration=registration,
                            user_id=user.id if user else None, **_log_fields(launch))
    launch.log_id = row.id
    if launch.cookie_method == "none" or not settings["allow_frame_embedding"]:
        response = _hand_off(launch, settings)
    else:
        store_launch(launch)
        if user is None:
            response = _welcome(launch)
        else:
            enter_launched_session(user, None, frame_ancestors(settings, launch))
            response = redirect(url_for(".selection", launch_id=launch.launch_id), 303)
        db.session.commit()
    forget_state_cookie(response, launch)
    return response


def _hand_off(launch: LaunchData, settings: dict):
    """The frame cannot keep a session (or embedding is off): the selection continues in a new window."""
    store_launch(launch, bind=False)
    token = create_handoff(launch)
    db.session.commit()
    _framed(settings, launch)
    template = "launch/new_window.html" if launch.cookie_method == "none" else "launch/open_tool.html"
    return make_response(render_template(template, title=PAGE_TITLE,
                                         handoff_url=url_for("launch.handoff", token=token)))


def _selection_page(launch: LaunchData, dl_settings: DeepLinkSettings, user: User,
                    registration: PlatformRegistration, *, error: str | None = None, status: int = 200,
                    to_course: list[str] | None = None, to_gradebook: list[str] | None = None):
    """The page, or after a refused submit the page again with the message and the user's ticks."""
    groups = deep_linking.choices(user, registration)
    return render_template("deeplink/select.html", title=PAGE_TITLE, launch=launch, groups=groups,
                           settings=dl_settings, error=error, to_course=set(to_course or ()),
                           to_gradebook=set(to_gradebook or ())), status


@bp.get("/lti/deeplink/<launch_id>")
def selection(launch_id: str):
    """The "Published content" page, reached after the request or the Welcome page."""
    settings = lti_settings()
    try:
        launch = _restore(launch_id)
        registration, _deployment = lti_launch.usable_registration(launch)
        dl_settings = DeepLinkSettings.from_launch(launch)
        user = _account(launch, settings)
    except LtiError as error:
        return _refuse(launch_log.KIND_DEEP_LINKING, error, settings)
    if user is None:
        return _welcome(launch)
    db.session.commit()
    _framed(settings, launch)
    return _selection_page(launch, dl_settings, user, registration)


@bp.post("/lti/deeplink/<launch_id>/respond")
def respond(launch_id: str):
    """Build, sign and auto-post the response. The launch is used up before anything is signed,
    so a replayed form, a second tab or a reload gets the error page instead of a second response."""
    settings = lti_settings()
    kind = launch_log.KIND_DEEP_LINKING_RESPONSE
    try:
        launch = _restore(launch_id)
        registration, _deployment = lti_launch.usable_registration(launch)
        dl_settings = DeepLinkSettings.from_launch(launch)
        user = _account(launch, settings)
    except LtiError as error:
        return _refuse(kind, error, settings)
    if user is None:
        return _welcome(launch)
    items = []
    if request.form.get("action") != "cancel":
        course_ids, gradebook_ids = request.form.getlist("course"), request.form.getlist("gradebook")
        try:
            items = deep_linking.selected_items(user, registration, course_ids=course_ids,
                                                gradebook_ids=gradebook_ids,
                                                accept_multiple=dl_settings.accept_multiple)
        except ServiceError as error:
            db.session.rollback()
            _framed(settings, launch)
            return _selection_page(launch, dl_settings, user, registration, error=error.message, status=400,
                                   to_course=course_ids, to_gradebook=gradebook_ids)
    if not forget_launch(launch.launch_id):
        return _refuse(kind, launch_error("deep_link_launch_missing"), settings)
    token = response_jwt(launch, registration, dl_settings, items, base_url=current_app.config["COURSEPORT_BASE_URL"])
    launch_log.record(kind, launch_log.SUCCESS, _attempt(), registration=registration, user_id=user.id,
                      **_log_fields(launch, RESPONSE_MESSAGE_TYPE))
    db.session.commit()
    _framed(settings, launch)
    allow_form_action(dl_settings.return_origin)
    return render_template("deeplink/respond.html", title=PAGE_TITLE, return_url=dl_settings.return_url,
                           token=token, added=len(items))
