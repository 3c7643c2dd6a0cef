"""Legacy LTI endpoints and the admin list of legacy consumers.

The launch and registration POSTs come cross-site from an LMS, so they are CSRF-exempt: the launch is protected
by its OAuth 1.0a signature and nonce, the registration by the resource's unguessable token.
"""
from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for

from app.extensions import csrf, db
from app.lti.errors import LtiError
from app.lti.launch_data import LaunchData
from app.lti.legacy import launch as lti11
from app.lti.legacy import tool_proxy as lti2_registration
from app.lti.legacy.cartridge import CONTENT_TYPE, cartridge_xml
from app.lti.legacy.launch import LegacyLaunchError, resource_by_token, with_params
from app.lti.legacy.tool_proxy import InvalidRegistrationRequest, RegistrationError
from app.security import admin_required, allow_framing
from app.templating import lti_admin_crumbs
from app.services.launch import log as launch_log
from app.services.legacy import consumers as legacy
from app.services.platforms.framing import frame_ancestors
from app.services.platforms.settings import lti_settings
from app.web import launch_pages

bp = Blueprint("legacy", __name__)

REGISTRATION_FAILED = "The tool could not be registered"


def _failed(message: str, status: int, heading: str, reference: int | None = None):
    return render_template("legacy/failed.html", title=heading, message=message, reference=reference), status


def _refuse_or_send_back(error: LtiError, settings: dict, return_url: str | None = None,
                         launch: LaunchData | None = None):
    """Log the refusal; send it back to the LMS when the signature had verified, else show the error page."""
    row = launch_log.record_failure(launch_log.KIND_LTI11_LAUNCH, error, launch_pages.attempt(), launch)
    db.session.commit()
    back = lti11.error_return_url(return_url, error.message)
    if back:
        return redirect(back)
    allow_framing(frame_ancestors(settings, launch))
    return _failed(error.message, error.status, launch_pages.ERROR_TITLE, row.id)


@bp.post("/lti/v1/launch/<int:tool_id>")
@csrf.exempt
def launch(tool_id: int):
    """Legacy Launch URL: verify the OAuth 1.0a launch, then provision, enrol and land exactly as an
    LTI 1.3 launch does (the Welcome page included)."""
    settings = lti_settings()
    form = request.form
    try:
        data = lti11.validate_launch(tool_id, form, list(form.items(multi=True)), request.query_string.decode())
    except LegacyLaunchError as error:
        return _refuse_or_send_back(error, settings, error.return_url if error.verified else None)
    legacy.record_consumer(data)
    try:
        if not settings["allow_frame_embedding"]:
            row = launch_log.accepted(launch_log.KIND_LTI11_LAUNCH, data, launch_pages.attempt())
            return launch_pages.hand_off(data, settings, log_id=row.id)
        return launch_pages.proceed(launch_log.KIND_LTI11_LAUNCH, data, settings, stored=False)
    except LtiError as error:
        return _refuse_or_send_back(error, settings, data.return_url, data)


@bp.get("/lti/v1/cartridge/<int:tool_id>/<token>.xml")
def cartridge(tool_id: int, token: str):
    """The IMS basic LTI link XML an LMS reads to set the resource up by URL."""
    try:
        resource = resource_by_token(tool_id, token)
    except LegacyLaunchError as error:
        return _failed(error.message, error.status, "The cartridge is not available")
    return Response(cartridge_xml(legacy.cartridge_values(resource)), content_type=CONTENT_TYPE)


@bp.post("/lti/v2/register/<int:tool_id>/<token>")
@csrf.exempt
def register(tool_id: int, token: str):
    """LTI 2.0 ToolProxyRegistrationRequest: offer the consumer a tool proxy, keep its GUID and our secret."""
    try:
        resource = resource_by_token(tool_id, token)
        registration_request = lti2_registration.parse_request(request.form)
    except (LegacyLaunchError, InvalidRegistrationRequest) as error:
        status = error.status if isinstance(error, LegacyLaunchError) else 400
        return _failed(error.message, status, REGISTRATION_FAILED)
    try:
        registered = lti2_registration.register(
            legacy.tool_description(resource), registration_request.profile_url, registration_request.reg_key,
            registration_request.reg_password)
    except RegistrationError as error:
        launch_log.lti2_registration(launch_pages.attempt(), resource.id, message=error.message,
                                     detail=error.detail)
        db.session.commit()
        message = lti2_registration.MSG_REGISTRATION_FAILED
        continue_url = with_params(registration_request.return_url, {"status": "failure", "lti_errormsg": message})
        return render_template("legacy/registration_result.html", title=REGISTRATION_FAILED, success=False,
                               message=message, continue_url=continue_url), 400
    legacy.save_registered_consumer(resource, registered)
    launch_log.lti2_registration(launch_pages.attempt(), resource.id, tool_proxy_guid=registered.tool_proxy_guid)
    db.session.commit()
    continue_url = with_params(registration_request.return_url, {
        "lti_msg": "Successful registration", "status": "success", "tool_proxy_guid": registered.tool_proxy_guid})
    return render_template("legacy/registration_result.html", title="Successful registration", success=True,
                           continue_url=continue_url)


@bp.get("/admin/lti/consumers")
@admin_required
def consumers():
    """Legacy consumers seen: key, name, GUID, version, the resources each uses, last access."""
    title = "Legacy consumers"
    return render_template("legacy/consumers.html", title=title, breadcrumbs=lti_admin_crumbs((title, None)),
                           lti_nav_active=title, consumers=legacy.consumers_overview())
