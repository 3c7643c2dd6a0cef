"""LTI 1.1 basic launch verification: oauthlib checks the signature, we check the rest.

The checks run in our order, which is not oauthlib's: oauthlib would reject a stale timestamp before
looking at the signature, but a person fixing a launch needs "wrong secret" and "wrong clock" told apart, and a
nonce must only be spent by a request whose signature verified. So oauthlib gets a validator that defers the
timestamp and nonce, and both are checked here right after the signature.
"""
from __future__ import annotations

import hmac
import secrets
import time
from datetime import timedelta
from typing import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, RequestValidator, SignatureOnlyEndpoint
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.lti.errors import LtiError
from app.lti.identity import credential_scope
from app.lti.launch_data import LaunchData
from app.models import Lti11Consumer, Lti11Nonce, PublishedResource
from app.models.base import utcnow

LAUNCH_MESSAGE_TYPE = "basic-lti-launch-request"
LTI_VERSIONS = ("LTI-1p0", "LTI-2p0")
LTI2 = "LTI-2p0"
TIMESTAMP_WINDOW = 300
NONCE_LIFETIME = timedelta(minutes=30)
MAX_KEY_LENGTH = 255

MSG_UNKNOWN_RESOURCE = "Invalid launch data. The resource '{tool_id}' is unavailable or does not exist."
MSG_NOT_LEGACY = ("The resource is not set up for use over legacy LTI (versions 1.1/2.0). Please contact the "
                  "administrator of this tool.")
MSG_DISABLED = "The resource '{tool_id}' is disabled. Please contact the administrator of this tool."
MSG_BAD_TOKEN = ("The token was incorrect. Please check the URL and try again, or contact the administrator of this "
                 "tool.")
MSG_ID_TOKEN = ("This is an LTI 1.3 launch sent to a legacy Launch URL. Use the Tool URL {base}/lti/launch with the "
                "platform registered for LTI Advantage.")
MSG_NO_KEY = "A required parameter (oauth_consumer_key) was missing"
MSG_INVALID_REQUEST = "Invalid request"
MSG_TOO_LONG = "The launch parameter {name} is too long."
# What a launch keeps, at most as long as the column that keeps it.
PARAMETER_LIMITS = {"user_id": 255, "resource_link_id": 255, "context_id": 255, "context_label": 255,
                    "context_title": 1024, "resource_link_title": 1024, "lis_result_sourcedid": 1024,
                    "lis_outcome_service_url": 2048, "ext_ims_lis_memberships_url": 2048,
                    "custom_context_memberships_url": 2048, "ext_ims_lis_memberships_id": 1024,
                    "launch_presentation_return_url": 2048, "tool_consumer_instance_name": 1024,
                    "tool_consumer_instance_guid": 1024, "tool_consumer_info_version": 255}
MSG_NO_LINK = "Missing resource link ID."
MSG_NO_USER = "The launch did not include a user_id. Anonymous launches are not supported."
MSG_UNKNOWN_KEY = "Invalid consumer key."
MSG_SIGNATURE = "OAuth signature check failed - perhaps an incorrect secret or timestamp."
MSG_TIMESTAMP = "Expired timestamp, yours {theirs}, ours {ours}"
MSG_NONCE = "Invalid nonce. If you opened the link twice quickly, go back to your course and open it again."
ERRORMSG = "Sorry, there was an error connecting you to the application."

FIX_OAUTH = "Check the secret entered in the LMS against the resource's Secret; check the clocks."
FIX_RESOURCE = "Enable it, or add this registration under Available to, or relink."
FIX_LAUNCH_URL = "Copy the Launch URL, consumer key and Secret from the course's Published as LTI tools page again."


class LegacyLaunchError(LtiError):
    """A failed legacy launch check. `verified` says whether the signature had already been verified, which
    decides whether the failure may be sent back to the LMS's return URL (never before verification)."""

    def __init__(self, message: str, status: int, code: str, cause: str, fix: str, *,
                 resource_id: int | None = None, consumer_key: str | None = None, verified: bool = False,
                 return_url: str | None = None, clock_skew: int | None = None) -> None:
        super().__init__(message, status, code, cause, fix, resource_id=resource_id, consumer_key=consumer_key,
                         clock_skew=clock_skew, message_type=LAUNCH_MESSAGE_TYPE)
        self.resource_id = resource_id
        self.consumer_key = consumer_key
        self.verified = verified
        self.return_url = return_url


def legacy_issuer(consumer_key: str) -> str:
    """LTI 1.1 identities live beside LTI 1.3 ones under this issuer."""
    return f"urn:lti11:{consumer_key}"


def launch_url(tool_id: int) -> str:
    return f"{current_app.config['COURSEPORT_BASE_URL']}/lti/v1/launch/{tool_id}"


def usable_legacy_resource(tool_id: int, resource: PublishedResource | None = None) -> PublishedResource:
    """The resource check, shared by the launch, the cartridge and LTI 2 registration."""
    if resource is None:
        resource = db.session.get(PublishedResource, tool_id)
    if resource is None:
        raise LegacyLaunchError(MSG_UNKNOWN_RESOURCE.format(tool_id=tool_id), 404, "resource_unavailable",
                                f"Resource {tool_id} does not exist.", FIX_RESOURCE)
    if not resource.is_legacy:
        raise LegacyLaunchError(MSG_NOT_LEGACY, 400, "wrong_lti_version",
                                "An LTI 1.1 launch reached a resource published for LTI Advantage.",
                                "Set the link up for LTI Advantage, or publish the content as Legacy LTI (1.1/2.0).",
                                resource_id=resource.id)
    if not resource.enabled or resource.activity_deleted:
        cause = (f"Resource {tool_id} is disabled." if not resource.enabled
                 else f"Resource {tool_id}: its activity was deleted.")
        raise LegacyLaunchError(MSG_DISABLED.format(tool_id=tool_id), 403, "resource_unavailable", cause,
                                FIX_RESOURCE, resource_id=resource.id)
    return resource


def resource_by_token(tool_id: int, token: str) -> PublishedResource:
    """The Cartridge and Registration URLs work only with the resource's own legacy token.

    An unknown id gets the same answer as a wrong token, so the URLs reveal nothing about other resources.
    """
    resource = db.session.get(PublishedResource, tool_id)
    if resource is None or not constant_time_equal(token, resource.legacy_token):
        raise LegacyLaunchError(MSG_BAD_TOKEN, 404, "bad_token", f"The URL of resource {tool_id} had a wrong token.",
                                "Copy the Cartridge URL or Registration URL from the course's Published as LTI "
                                "tools page again.", resource_id=resource.id if resource else None)
    return usable_legacy_resource(tool_id, resource)


class _Validator(RequestValidator):
    """Backs oauthlib with one already-resolved secret; timestamp and nonce are checked after the signature."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    @property
    def allowed_signature_methods(self) -> tuple[str, ...]:
        return (SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256)

    @property
    def enforce_ssl(self) -> bool:
        # The signed URL is COURSEPORT_BASE_URL; plain http is only ever the development base URL.
        return False

    @property
    def timestamp_lifetime(self) -> int:
        return 10 ** 10  # checked by check_timestamp() once the signature is known to be right

    @property
    def dummy_client(self) -> str:
        return "dummy"

    def check_client_key(self, client_key: str) -> bool:
        # LMS admins choose any consumer key they like, so no character-set rule applies.
        return 0 < len(client_key) <= MAX_KEY_LENGTH

    def check_nonce(self, nonce: str) -> bool:
        return 0 < len(nonce) <= 255

    def validate_client_key(self, client_key: str, request) -> bool:
        return True

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, request_token=None,
                                     access_token=None) -> bool:
        return True

    def get_client_secret(self, client_key: str, request) -> str:
        return self._secret


def verify_signature(url: str, params: list[tuple[str, str]], secret: str) -> bool:
    """oauthlib recomputes the HMAC-SHA1/SHA256 signature over POST, `url` (with its query) and `params`."""
    endpoint = SignatureOnlyEndpoint(_Validator(secret))
    body = urlencode(params)
    try:
        valid, _request = endpoint.validate_request(
            url, http_method="POST", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    except ValueError:  # undecodable query string: nothing we could have signed
        return False
    return valid


def check_timestamp(timestamp: str, now: float | None = None) -> int:
    """Return the clock difference in seconds, or raise when it is outside ±300 s."""
    ours = int(now if now is not None else time.time())
    theirs = int(timestamp)
    if abs(ours - theirs) > TIMESTAMP_WINDOW:
        raise ValueError(MSG_TIMESTAMP.format(theirs=theirs, ours=ours))
    return theirs - ours


def consume_nonce(consumer_key: str, nonce: str) -> bool:
    """Spend a nonce for this consumer key; False when it was already used within 30 minutes.

    The unique constraint decides between two simultaneous requests: only one insert can succeed.
    """
    now = utcnow()
    db.session.execute(db.delete(Lti11Nonce).where(
        Lti11Nonce.consumer_key == consumer_key, Lti11Nonce.nonce == nonce, Lti11Nonce.expires_at < now))
    try:
        with db.session.begin_nested():
            db.session.add(Lti11Nonce(consumer_key=consumer_key, nonce=nonce, expires_at=now + NONCE_LIFETIME))
    except IntegrityError:
        return False
    return True


def lti2_consumer(resource_id: int, consumer_key: str) -> Lti11Consumer | None:
    """The consumer an LTI 2 registration created for this resource and key (the only ones with a secret)."""
    return db.session.execute(db.select(Lti11Consumer).where(
        Lti11Consumer.published_resource_id == resource_id, Lti11Consumer.consumer_key == consumer_key,
        Lti11Consumer.secret.is_not(None))).scalar_one_or_none()


def _secret_for(resource: PublishedResource, consumer_key: str, lti_version: str) -> str:
    consumer = lti2_consumer(resource.id, consumer_key)
    if consumer is not None:
        return consumer.secret or ""
    if lti_version == LTI2:
        raise LegacyLaunchError(MSG_UNKNOWN_KEY, 401, "oauth_signature",
                                f"The LTI 2 consumer key {consumer_key} was not registered for this resource.",
                                "Register the tool again in the LMS with the resource's Registration URL.",
                                resource_id=resource.id, consumer_key=consumer_key)
    return resource.secret or ""


def _required(form: Mapping[str, str], resource: PublishedResource) -> tuple[str, str]:
    key = (form.get("oauth_consumer_key") or "").strip()
    if not key:
        raise LegacyLaunchError(MSG_NO_KEY, 400, "invalid_request", "The launch had no oauth_consumer_key.",
                                FIX_LAUNCH_URL, resource_id=resource.id)
    version = form.get("lti_version", "")
    if form.get("lti_message_type") != LAUNCH_MESSAGE_TYPE or version not in LTI_VERSIONS:
        raise LegacyLaunchError(MSG_INVALID_REQUEST, 400, "invalid_request",
                                f"The launch was not a basic-lti-launch-request for LTI-1p0 or LTI-2p0 "
                                f"(lti_message_type {form.get('lti_message_type', '')!r}, lti_version "
                                f"{version!r}).", FIX_LAUNCH_URL, resource_id=resource.id, consumer_key=key)
    if not form.get("resource_link_id"):
        raise LegacyLaunchError(MSG_NO_LINK, 400, "invalid_request", "The launch had no resource_link_id.",
                                "Launch from a link placed in the LMS course, not from the tool settings.",
                                resource_id=resource.id, consumer_key=key)
    if not form.get("user_id"):
        raise LegacyLaunchError(MSG_NO_USER, 400, "invalid_request", "The launch had no user_id.",
                                "Turn on sending the user's identity (not anonymous) in the LMS tool settings.",
                                resource_id=resource.id, consumer_key=key)
    for name, limit in PARAMETER_LIMITS.items():
        if len(form.get(name) or "") > limit:
            raise LegacyLaunchError(MSG_TOO_LONG.format(name=name), 400, "invalid_request",
                                    f"The launch's {name} had {len(form[name])} characters; at most {limit} are "
                                    f"kept.", "Check the LMS's tool settings.", resource_id=resource.id,
                                    consumer_key=key)
    return key, version


def validate_launch(tool_id: int, form: Mapping[str, str], params: list[tuple[str, str]],
                    query_string: str = "") -> LaunchData:
    """Run #7 on a POSTed launch; the nonce is the only row written (and only once verified).

    `form` gives single values for the checks; `params` is every body parameter (repeats included) as
    signed. The signature covers the public launch URL, never the Host the request arrived on.
    """
    resource = usable_legacy_resource(tool_id)
    if form.get("id_token"):
        base = current_app.config["COURSEPORT_BASE_URL"]
        message = MSG_ID_TOKEN.format(base=base)
        raise LegacyLaunchError(message, 400, "wrong_lti_version", "An LTI 1.3 launch reached the LTI 1.1 URL.",
                                message, resource_id=resource.id)
    key, version = _required(form, resource)
    secret = _secret_for(resource, key, version)
    url = launch_url(tool_id) + (f"?{query_string}" if query_string else "")
    if not verify_signature(url, params, secret):
        raise LegacyLaunchError(MSG_SIGNATURE, 401, "oauth_signature",
                                f"The LTI 1.1 signature check failed for consumer key {key}.", FIX_OAUTH,
                                resource_id=resource.id, consumer_key=key)
    return_url = form.get("launch_presentation_return_url", "")
    verified = {"resource_id": resource.id, "consumer_key": key, "verified": True, "return_url": return_url}
    try:
        skew = check_timestamp(form.get("oauth_timestamp", ""))
    except ValueError as error:
        raise LegacyLaunchError(str(error), 401, "oauth_timestamp",
                                f"The LTI 1.1 timestamp check failed for consumer key {key}.", FIX_OAUTH,
                                clock_skew=int(form["oauth_timestamp"]) - int(time.time()), **verified) from None
    if not consume_nonce(key, form.get("oauth_nonce", "")):
        raise LegacyLaunchError(MSG_NONCE, 401, "oauth_nonce",
                                f"The LTI 1.1 nonce check failed for consumer key {key}.",
                                "Usually a reload or double submit; launch again from the course.",
                                clock_skew=skew, **verified)
    return _launch(resource.id, key, version, form, skew, credential_scope(key, secret))


def _text(form: Mapping[str, str], name: str) -> str | None:
    value = (form.get(name) or "").strip()
    return value or None


def _launch(resource_id: int, key: str, version: str, form: Mapping[str, str], skew: int,
            scope: str) -> LaunchData:
    """The verified launch in the shape the LTI 1.3 launch uses, so both share provisioning and enrolment.
    `scope`: the identity scope of the key and secret that verified it."""
    context_id = _text(form, "context_id")
    return LaunchData(
        launch_id=secrets.token_urlsafe(24), registration_id=None, deployment_pk=None,
        issuer=legacy_issuer(key), client_id="", deployment_id="", message_type=LAUNCH_MESSAGE_TYPE,
        subject=form["user_id"], roles=[role.strip() for role in form.get("roles", "").split(",") if role.strip()],
        cookie_method="cookie", clock_skew=skew, given_name=_text(form, "lis_person_name_given"),
        family_name=_text(form, "lis_person_name_family"), name=_text(form, "lis_person_name_full"),
        email=_text(form, "lis_person_contact_email_primary"),
        custom={name[len("custom_"):]: value for name, value in form.items() if name.startswith("custom_")},
        context={"id": context_id, "title": form.get("context_title", ""), "label": form.get("context_label", ""),
                 "types": []} if context_id else None,
        resource_link={"id": form["resource_link_id"], "title": form.get("resource_link_title", "")},
        return_url=_text(form, "launch_presentation_return_url"), resource_id=resource_id, identity_scope=scope,
        legacy={"consumer_key": key, "lti_version": version,
                "outcome_url": _text(form, "lis_outcome_service_url"),
                "result_sourcedid": _text(form, "lis_result_sourcedid"),
                # LTI 1.1's memberships extension, or the LTI 2 memberships service of the link's context.
                "memberships_url": _text(form, "ext_ims_lis_memberships_url")
                or _text(form, "custom_context_memberships_url"),
                "memberships_id": _text(form, "ext_ims_lis_memberships_id"),
                "consumer_name": _text(form, "tool_consumer_instance_name"),
                "consumer_guid": _text(form, "tool_consumer_instance_guid"),
                "consumer_version": _text(form, "tool_consumer_info_version")})


def constant_time_equal(given: str | None, expected: str | None) -> bool:
    """Token comparison that takes the same time wherever the strings differ."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def with_params(url: str, params: Mapping[str, str]) -> str:
    """The LMS's return URL with our parameters added to whatever query it already has."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def error_return_url(return_url: str | None, message: str) -> str | None:
    """Where a failure after a verified signature goes back to the LMS. The caller passes the URL
    only once the signature verified: the consumer signed it, so this is no open redirect. Only http(s)."""
    if not return_url or urlsplit(return_url).scheme not in ("http", "https"):
        return None
    return with_params(return_url, {"lti_errormsg": ERRORMSG, "lti_errorlog": message})
