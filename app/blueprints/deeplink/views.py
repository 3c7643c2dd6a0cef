"""Content selection (Deep Linking 2.0): the platform's LtiDeepLinkingRequest, the "Published
content" page, and the signed response auto-posted back to the platform.

Only the protocol POST /lti/deeplink is CSRF-exempt (state, nonce and the platform's signature protect it). The
page and its form belong to the browser session that validated the launch, and the form keeps CSRF. Accounts
always follow mode 3, "Existing accounts only (prompt)": an unbound teacher links an existing account first.
"""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from app.extensions import csrf, db
from app.lti.deep_linking import DeepLinkSettings, response_jwt
from app.lti.errors import LtiError, launch_error
from app.lti.launch import (
    LaunchData, enter_launched_session, forget_launch, forget_state_cookie, restore_launch, store_launch,
    validate_launch,
)
from app.lti.launch_data import DEEP_LINKING_REQUEST
from app.lti.platform_storage import StorageNeeded
from app.models import PlatformRegistration, User
from app.models.tools import PROVISION_PROMPT_EXISTING
from app.security import allow_form_action, allow_framing
from app.services.errors import ServiceError
from app.services.launch import flow as lti13
from app.services.launch import log as launch_log
from app.services.launch import provisioning
from app.services.platforms.framing import frame_ancestors
from app.services.platforms.settings import lti_settings
from app.services.publishing import content_selection as deep_linking
from app.web import frame_session, launch_pages

bp = Blueprint("deeplink", __name__)

PAGE_TITLE = launch_pages.OPEN_TOOL_TITLE
RESPONSE_MESSAGE_TYPE = "LtiDeepLinkingResponse"


def _framed(settings: dict, launch: LaunchData) -> None:
    """The selection pages show inside the launch's platform's frame (when embedding is on)."""
    allow_framing(frame_ancestors(settings, launch))


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


@bp.post("/lti/deeplink")
@csrf.exempt
def request_content():
    """Deep linking URL: validate the LtiDeepLinkingRequest, then sign in or ask."""
    settings = lti_settings()
    try:
        launch = validate_launch(leeway=settings["clock_leeway"], message_type=DEEP_LINKING_REQUEST)
    except StorageNeeded as needed:
        return launch_pages.storage_page(needed.request, settings, needed.relaunch_url, relaunch=True)
    except LtiError as error:
        return launch_pages.refuse(launch_log.KIND_DEEP_LINKING, error, settings, validating=True)
    registration = db.session.get(PlatformRegistration, launch.registration_id)
    try:
        DeepLinkSettings.from_launch(launch)
        user = provisioning.launch_user(launch)
        if user is not None:
            provisioning.ensure_can_launch(user)
            provisioning.refresh_profile(user, launch, registration)
    except LtiError as error:
        return launch_pages.refuse(launch_log.KIND_DEEP_LINKING, error, settings, launch)
    row = launch_log.accepted(launch_log.KIND_DEEP_LINKING, launch, launch_pages.attempt(),
                              user_id=user.id if user else None)
    if launch.cookie_method == "none" or not settings["allow_frame_embedding"]:
        response = launch_pages.hand_off(launch, settings, log_id=row.id, prompt_mode=PROVISION_PROMPT_EXISTING)
    else:
        if launch.cookie_method == "storage":
            frame_session.begin()
        store_launch(launch, log_id=row.id, prompt_mode=PROVISION_PROMPT_EXISTING)
        if user is None:
            response = launch_pages.welcome(launch.launch_id, 303)
        else:
            enter_launched_session(user, None, frame_ancestors(settings, launch))
            response = redirect(url_for(".selection", launch_id=launch.launch_id), 303)
        db.session.commit()
    forget_state_cookie(response, launch)
    return response


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
        registration, _deployment = lti13.usable_registration(launch)
        dl_settings = DeepLinkSettings.from_launch(launch)
        user = _account(launch, settings)
    except LtiError as error:
        return launch_pages.refuse(launch_log.KIND_DEEP_LINKING, error, settings)
    if user is None:
        return launch_pages.welcome(launch.launch_id, 303)
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
        registration, _deployment = lti13.usable_registration(launch)
        dl_settings = DeepLinkSettings.from_launch(launch)
        user = _account(launch, settings)
    except LtiError as error:
        return launch_pages.refuse(kind, error, settings)
    if user is None:
        return launch_pages.welcome(launch.launch_id, 303)
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
        return launch_pages.refuse(kind, launch_error("deep_link_launch_missing"), settings)
    token = response_jwt(launch, registration, dl_settings, items, base_url=current_app.config["COURSEPORT_BASE_URL"])
    launch_log.accepted(kind, launch, launch_pages.attempt(), user_id=user.id, message_type=RESPONSE_MESSAGE_TYPE)
    db.session.commit()
    _framed(settings, launch)
    allow_form_action(dl_settings.return_origin)
    return render_template("deeplink/respond.html", title=PAGE_TITLE, return_url=dl_settings.return_url,
                           token=token, added=len(items))
