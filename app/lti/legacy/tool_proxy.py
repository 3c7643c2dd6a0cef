"""LTI 2.0 tool proxy registration: read the consumer's profile, offer it a tool proxy.

Nothing here writes to the database: the caller saves the consumer only once the consumer accepted the proxy.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlsplit

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_AUTH_HEADER, Client

from app.lti import outbound, public_address
from app.models.transactions import end_reads

REGISTRATION_MESSAGE_TYPE = "ToolProxyRegistrationRequest"
LTI2 = "LTI-2p0"
PROFILE_TYPE = "application/vnd.ims.lti.v2.toolconsumerprofile+json"
TOOL_PROXY_TYPE = "application/vnd.ims.lti.v2.toolproxy+json"
MEMBERSHIPS_TYPE = "application/vnd.ims.lis.v2.membershipcontainer+json"
LAUNCH_CAPABILITY = "basic-lti-launch-request"
ENABLED_CAPABILITIES = [
    "Context.id", "CourseSection.title", "CourseSection.label", "CourseSection.sourcedId", "ResourceLink.id",
    "ResourceLink.title", "User.id", "User.username", "Person.name.full", "Person.name.given",
    "Person.name.family", "Person.email.primary", "Person.sourcedId", "Membership.role", "Result.sourcedId",
    "Result.autocreate",
]

MSG_PROFILE_UNREACHABLE = "Tool consumer profile not accessible."
MSG_PROFILE_JSON = "Invalid JSON in tool consumer profile."
MSG_CAPABILITY = "Required capability not offered - basic-lti-launch-request"
MSG_SERVICES = "Required service(s) not offered - {formats}"
MSG_PROXY = "Could not establish proxy with consumer."
# What the requester is told of any failure once its request was accepted: the same words whatever happened, so
# the answer reveals nothing about what the profile URL reached (the launch log keeps the reason).
MSG_REGISTRATION_FAILED = ("Could not register with the tool consumer. The tool's administrator can find the "
                           "reason in the launch log.")


MSG_INVALID_REQUEST = "Invalid request"
MSG_NO_RETURN_URL = "Return URL was not set."


class InvalidRegistrationRequest(Exception):
    """The POST is not a usable ToolProxyRegistrationRequest; there is nowhere to send it back."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RegistrationRequest:
    reg_key: str
    reg_password: str
    profile_url: str
    return_url: str


def _is_web_url(url: str) -> bool:
    """Only http(s): the return URL becomes a link on our page, so never javascript: or the like."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parse_request(form: Mapping[str, str]) -> RegistrationRequest:
    if form.get("lti_message_type") != REGISTRATION_MESSAGE_TYPE or form.get("lti_version") != LTI2:
        raise InvalidRegistrationRequest(MSG_INVALID_REQUEST)
    values = {name: (form.get(name) or "").strip()
              for name in ("reg_key", "reg_password", "tc_profile_url", "launch_presentation_return_url")}
    if not values["launch_presentation_return_url"]:
        raise InvalidRegistrationRequest(MSG_NO_RETURN_URL)
    if not all(values.values()) or not all(_is_web_url(values[name]) for name in (
            "tc_profile_url", "launch_presentation_return_url")):
        raise InvalidRegistrationRequest(MSG_INVALID_REQUEST)
    return RegistrationRequest(reg_key=values["reg_key"], reg_password=values["reg_password"],
                               profile_url=values["tc_profile_url"],
                               return_url=values["launch_presentation_return_url"])


class RegistrationError(Exception):
    """A registration failure after the request itself was accepted; `message` goes back to the LMS."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class ToolDescription:
    """Who we are, as the tool profile tells the consumer."""

    base_url: str
    tool_id: int
    product_code: str
    name: str
    description: str
    vendor_code: str
    vendor_name: str
    member_sync: bool


@dataclass(frozen=True)
class Service:
    id: str
    endpoint: str


@dataclass(frozen=True)
class Registered:
    """An accepted tool proxy: what the consumer record is made from."""

    tool_proxy_guid: str
    shared_secret: str
    profile: dict[str, Any]
    tool_proxy: dict[str, Any]
    consumer_name: str
    consumer_version: str
    consumer_guid: str


def _as_list(value: Any) -> list[str]:
    """A string or a list of strings as a list; anything else (a consumer's mistake) as nothing."""
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def services_offered(profile: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The profile's `service_offered` entries that are objects."""
    offered = _mapping(profile).get("service_offered")
    return [service for service in offered if isinstance(service, Mapping)] if isinstance(offered, list) else []


def _text(value: Any) -> str:
    """LTI 2 localised strings are {"default_value": …}; some consumers send a bare string."""
    if isinstance(value, Mapping):
        return str(value.get("default_value") or "")
    return str(value or "")


def fetch_profile(url: str) -> dict[str, Any]:
    end_reads(f"GET {url}")
    try:
        response = outbound.get(url, headers={"Accept": PROFILE_TYPE},
                                public_only=public_address.required())
    except outbound.OutboundError as error:
        raise RegistrationError(MSG_PROFILE_UNREACHABLE, error.reason) from None
    if not response.ok:
        raise RegistrationError(MSG_PROFILE_UNREACHABLE, f"HTTP {response.status_code}")
    try:
        profile = response.json()
    except ValueError:
        raise RegistrationError(MSG_PROFILE_JSON) from None
    if not isinstance(profile, dict):
        raise RegistrationError(MSG_PROFILE_JSON)
    return profile


def _find_service(profile: Mapping[str, Any], media_type: str, action: str) -> Service | None:
    for service in services_offered(profile):
        if media_type in _as_list(service.get("format")) and action in _as_list(service.get("action")):
            return Service(id=str(service.get("@id") or ""), endpoint=str(service.get("endpoint") or ""))
    return None


def required_services(profile: Mapping[str, Any], member_sync: bool) -> dict[str, Service]:
    """The launch capability, ToolProxy POST, and memberships GET when users are synced."""
    if LAUNCH_CAPABILITY not in _as_list(profile.get("capability_offered")):
        raise RegistrationError(MSG_CAPABILITY)
    wanted = [(TOOL_PROXY_TYPE, "POST")] + ([(MEMBERSHIPS_TYPE, "GET")] if member_sync else [])
    found = {media_type: _find_service(profile, media_type, action) for media_type, action in wanted}
    missing = [media_type for media_type, service in found.items() if service is None or not service.endpoint]
    if missing:
        raise RegistrationError(MSG_SERVICES.format(formats=", ".join(missing)))
    return {media_type: service for media_type, service in found.items() if service is not None}


def build_tool_proxy(tool: ToolDescription, profile_url: str, services: Mapping[str, Service],
                     shared_secret: str) -> dict[str, Any]:
    """One resource handler for the resource's legacy launch path."""
    base_url_choice: dict[str, Any] = {"default_base_url": tool.base_url,
                                       "selector": {"applies_to": ["MessageHandler"]}}
    if tool.base_url.startswith("https://"):
        base_url_choice["secure_base_url"] = tool.base_url
    tool_services = [{"@type": "RestServiceProfile", "service": services[TOOL_PROXY_TYPE].id, "action": ["POST"]}]
    if MEMBERSHIPS_TYPE in services:
        tool_services.append({"@type": "RestServiceProfile", "service": services[MEMBERSHIPS_TYPE].id,
                              "action": ["GET"]})
    return {
        "@context": "http://purl.imsglobal.org/ctx/lti/v2/ToolProxy",
        "@type": "ToolProxy",
        "lti_version": LTI2,
        "tool_consumer_profile": profile_url,
        "tool_profile": {
            "lti_version": LTI2,
            "product_instance": {
                "guid": tool.product_code,
                "product_info": {
                    "product_name": {"default_value": tool.name},
                    "description": {"default_value": tool.description},
                    "product_version": "1.0",
                    "product_family": {
                        "code": tool.product_code,
                        "vendor": {"code": tool.vendor_code, "vendor_name": {"default_value": tool.vendor_name},
                                   "website": f"{tool.base_url}/"},
                    },
                },
            },
            "base_url_choice": [base_url_choice],
            "resource_handler": [{
                "resource_type": {"code": tool.product_code},
                "resource_name": {"default_value": tool.name},
                "description": {"default_value": tool.description},
                "message": [{
                    "message_type": LAUNCH_CAPABILITY,
                    "path": f"/lti/v1/launch/{tool.tool_id}",
                    "enabled_capability": ENABLED_CAPABILITIES,
                }],
            }],
        },
        "security_contract": {"shared_secret": shared_secret, "tool_service": tool_services},
    }


def post_tool_proxy(endpoint: str, tool_proxy: Mapping[str, Any], reg_key: str, reg_password: str) -> str:
    """POST signed with reg_key/reg_password (HMAC-SHA1, body hash); return tool_proxy_guid."""
    body = json.dumps(tool_proxy)
    client = Client(reg_key, client_secret=reg_password, signature_method=SIGNATURE_HMAC_SHA1,
                    signature_type=SIGNATURE_TYPE_AUTH_HEADER)
    _uri, headers, _body = client.sign(endpoint, http_method="POST", body=body,
                                       headers={"Content-Type": TOOL_PROXY_TYPE})
    end_reads(f"POST {endpoint}")
    try:
        response = outbound.post(endpoint, data=body.encode("utf-8"), headers=dict(headers),
                                 public_only=public_address.required())
    except outbound.OutboundError as error:
        raise RegistrationError(MSG_PROXY, error.reason) from None
    if response.status_code != 201:
        raise RegistrationError(MSG_PROXY, f"HTTP {response.status_code}: {response.text[:500]}")
    try:
        guid = response.json().get("tool_proxy_guid")
    except (ValueError, AttributeError):
        guid = None
    if not guid or not isinstance(guid, str):
        raise RegistrationError(MSG_PROXY, "The response had no tool_proxy_guid.")
    return guid


def _consumer_details(profile: Mapping[str, Any]) -> tuple[str, str, str]:
    """Name (service owner, else product name), version "{family code}-{version}" and GUID of the consumer."""
    instance = _mapping(profile.get("product_instance"))
    info = _mapping(instance.get("product_info"))
    owner = _mapping(instance.get("service_owner"))
    name = _text(owner.get("service_owner_name")) or _text(info.get("product_name"))
    family = str(_mapping(info.get("product_family")).get("code") or "")
    version = f"{family}-{info.get('product_version') or ''}" if family or info.get("product_version") else ""
    return name, version, str(instance.get("guid") or profile.get("guid") or "")


def register(tool: ToolDescription, profile_url: str, reg_key: str, reg_password: str) -> Registered:
    """Run #4 against the consumer; raise RegistrationError with the consumer's message on failure."""
    profile = fetch_profile(profile_url)
    services = required_services(profile, tool.member_sync)
    shared_secret = secrets.token_hex(16)
    tool_proxy = build_tool_proxy(tool, profile_url, services, shared_secret)
    guid = post_tool_proxy(services[TOOL_PROXY_TYPE].endpoint, tool_proxy, reg_key, reg_password)
    name, version, consumer_guid = _consumer_details(profile)
    # The secret is kept in its own column only, so showing the stored proxy can never leak it.
    stored_proxy = {**tool_proxy, "security_contract": {
        key: value for key, value in tool_proxy["security_contract"].items() if key != "shared_secret"}}
    return Registered(tool_proxy_guid=guid, shared_secret=shared_secret, profile=dict(profile),
                      tool_proxy=stored_proxy, consumer_name=name, consumer_version=version,
                      consumer_guid=consumer_guid)
