"""LTI Dynamic Registration 1.0, tool side, and the URLs a platform needs from us.

pylti1p3's `DynamicRegistration` builds the client registration body from our getters; its `register()`
checks the platform with `assert` and has no timeouts, so the exchange itself is ours, done through
`outbound` with every failure turned into a `RegistrationError` carrying the admin's message.
Nothing here touches the database: the caller decides what to save.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from pylti1p3.dynamic_registration import DynamicRegistration

from app.lti import canvas_config, outbound, public_address
from app.models.transactions import end_reads

PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
SERVICE_SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
)
REQUIRED_MEMBERS = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
TIMEOUT = (10, 10)
MAX_REGISTRATION_TOKEN = 4096
LOCAL_HOSTS = {"localhost", "127.0.0.1"}

MSG_BAD_CONFIGURATION_URL = "The platform did not provide a valid openid_configuration URL."
MSG_BAD_REGISTRATION_TOKEN = "The platform did not provide a valid registration_token."
MSG_FETCH_FAILED = "There was a problem fetching the OpenID configuration from the platform: {reason}."
MSG_NOT_JSON = ("There was a problem fetching the OpenID configuration from the platform. The result was not valid "
                "JSON. Please make sure this site can connect to the platform domain and try again using a new "
                "registration URL.")
MSG_MISSING = "The platform's OpenID configuration is missing: {names}."
MSG_ISSUER_MISMATCH = "The OpenID configuration URL does not belong to the platform issuer {issuer}."
MSG_NO_RS256 = "The platform does not support RS256-signed tokens."
MSG_REJECTED = "The platform rejected the registration request (HTTP {status}). Its answer is shown below."
MSG_REJECTED_SILENTLY = "The platform rejected the registration request (HTTP {status}) without saying why."
MAX_SHOWN_RESPONSE = 2000
MSG_SEND_FAILED = "There was a problem sending the registration request to the platform: {reason}."
MSG_NOT_PUBLIC = ("The platform's OpenID configuration names a {name} that is not a public address; set "
                  "ALLOW_PRIVATE_ADDRESSES if the platform is on this server's private network.")
MSG_NO_CLIENT_ID = "The platform's registration response did not include a client_id."


class RegistrationError(Exception):
    """A dynamic registration step failed; `platform_response` is what the platform answered, if anything."""

    def __init__(self, message: str, platform_response: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.platform_response = platform_response


@dataclass(frozen=True)
class ToolUrls:
    tool_url: str
    initiate_login_url: str
    jwks_url: str
    deep_linking_url: str
    canvas_json_url: str


@dataclass(frozen=True)
class PlatformConfiguration:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    authorization_server: str | None
    scopes: tuple[str, ...]
    deep_linking: bool
    product_family: str | None


@dataclass(frozen=True)
class RegisteredClient:
    configuration: PlatformConfiguration
    client_id: str
    deployment_id: str | None


def base_url() -> str:
    return current_app.config["COURSEPORT_BASE_URL"]


def tool_urls(login_id: str) -> ToolUrls:
    """What an admin copies into the platform for manual registration."""
    base = base_url()
    return ToolUrls(tool_url=f"{base}/lti/launch", initiate_login_url=f"{base}/lti/login?id={login_id}",
                    jwks_url=f"{base}/lti/jwks", deep_linking_url=f"{base}/lti/deeplink",
                    canvas_json_url=f"{base}/lti/canvas/{login_id}.json")


def tool_description() -> str:
    return f"Courses and activities published by {current_app.config['SITE_NAME']}"


def logo_url() -> str:
    return f"{base_url()}/static/img/logo.png"


def canvas_json_configuration(login_id: str) -> dict[str, Any]:
    """The Canvas developer key configuration for the registration with `login_id`."""
    urls = tool_urls(login_id)
    return canvas_config.json_configuration(
        title=current_app.config["SITE_NAME"], description=tool_description(), tool_url=urls.tool_url,
        initiate_login_url=urls.initiate_login_url, jwks_url=urls.jwks_url, deep_linking_url=urls.deep_linking_url,
        domain=urlsplit(base_url()).netloc, icon_url=logo_url(), scopes=list(SERVICE_SCOPES))


def registration_url(token: str) -> str:
    return f"{base_url()}/lti/register?token={token}"


def is_http_url(value: str | None) -> bool:
    """An absolute http:// or https:// URL with a host."""
    if not value or not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _allowed_configuration_url(url: str) -> bool:
    """https, or plain http to this machine while the site itself runs on plain http (development)."""
    if not is_http_url(url):
        return False
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    return parts.hostname in LOCAL_HOSTS and base_url().startswith("http://")


def _issuer_matches(configuration_url: str, issuer: str) -> bool:
    config, iss = urlsplit(configuration_url), urlsplit(issuer)
    return (config.scheme == iss.scheme and config.netloc.lower() == iss.netloc.lower()
            and config.path.startswith(iss.path))


def _product_family(platform_configuration: Any) -> str | None:
    """The LMS product (`canvas`, `moodle`, …) the platform says it is; the registration request is shaped
    to what that product accepts."""
    code = platform_configuration.get("product_family_code") if isinstance(platform_configuration, dict) else None
    return code.strip().lower()[:64] if isinstance(code, str) and code.strip() else None


def _message_types(platform_configuration: Any) -> set[str] | None:
    """Message types the platform offers, or None when it does not say (then everything is assumed)."""
    if not isinstance(platform_configuration, dict) or "messages_supported" not in platform_configuration:
        return None
    supported = platform_configuration.get("messages_supported")
    return set(_strings([item.get("type") if isinstance(item, dict) else item
                         for item in (supported if isinstance(supported, list) else [])]))


def _strings(value: Any) -> list[str]:
    """The strings of a JSON list (a platform's mistake, anything else, counts as none)."""
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


class ToolRegistration(DynamicRegistration):
    """One registration attempt for the registration with `login_id`, started by the platform's GET."""

    grant_types = ["client_credentials", "implicit"]

    def __init__(self, login_id: str, openid_configuration_url: str | None,
                 registration_token: str | None) -> None:
        self.login_id = login_id
        self.openid_configuration_url = (openid_configuration_url or "").strip()
        self.registration_token = registration_token or None
        self.urls = tool_urls(login_id)
        self.site_name = current_app.config["SITE_NAME"]
        self.scopes: tuple[str, ...] = SERVICE_SCOPES
        self.deep_linking = True
        self.product_family: str | None = None

    # The getters pylti1p3's lti_registration_data() builds the registration request from.
    def get_client_name(self) -> str:
        return self.site_name

    def get_description(self) -> str:
        return tool_description()

    def get_initiate_login_uri(self) -> str:
        return self.urls.initiate_login_url

    def get_jwks_uri(self) -> str:
        return self.urls.jwks_url

    def get_redirect_uris(self) -> list[str]:
        return [self.urls.tool_url, self.urls.deep_linking_url]

    def get_scopes(self) -> list[str]:
        return list(self.scopes)

    def get_domain(self) -> str:
        return urlsplit(base_url()).netloc

    def get_target_link_uri(self) -> str:
        return self.urls.tool_url

    def get_claims(self) -> list[str]:
        return ["iss", "sub", "aud", "given_name", "family_name", "name", "email"]

    def get_messages(self) -> list[dict[str, Any]]:
        if self.product_family == canvas_config.PRODUCT_FAMILY:
            return canvas_config.registration_messages(
                site_name=self.site_name, tool_url=self.urls.tool_url, deep_linking_url=self.urls.deep_linking_url,
                deep_linking=self.deep_linking)
        launch = {"type": RESOURCE_LINK_REQUEST, "target_link_uri": self.urls.tool_url,
                  "label": f"Launch content from {self.site_name}", "placements": ["ContentArea"],
                  "allowLearner": True}
        if not self.deep_linking:
            return [launch]
        deep_link = {"type": DEEP_LINKING_REQUEST, "target_link_uri": self.urls.deep_linking_url,
                     "label": f"Add content from {self.site_name}", "placements": ["ContentArea"],
                     "allowLearner": False}
        return [deep_link, launch]

    def lti_registration_data(self) -> dict[str, Any]:
        data = super().lti_registration_data()
        if self.product_family == canvas_config.PRODUCT_FAMILY:
            data[TOOL_CONFIGURATION][canvas_config.PRIVACY_LEVEL_CLAIM] = canvas_config.PRIVACY_LEVEL
        return data

    def get_logo_uri(self) -> str:
        return logo_url()

    def get_openid_configuration_endpoint(self) -> str:
        return self.openid_configuration_url

    def get_registration_token(self) -> str | None:
        return self.registration_token

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = self.get_registration_token()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def check_request(self) -> None:
        """Steps 2–3: what the platform put in the Registration URL it opened."""
        if not _allowed_configuration_url(self.openid_configuration_url):
            raise RegistrationError(MSG_BAD_CONFIGURATION_URL)
        if self.registration_token is not None and len(self.registration_token) > MAX_REGISTRATION_TOKEN:
            raise RegistrationError(MSG_BAD_REGISTRATION_TOKEN)

    def get_openid_configuration(self) -> dict[str, Any]:
        """Step 4: fetch the platform's configuration (10 s, never following it to another host)."""
        url = self.get_openid_configuration_endpoint()
        end_reads(f"GET {url}")
        try:
            response = outbound.get(url, headers=self._headers(), timeout=TIMEOUT, same_host_redirects_only=True,
                                    public_only=public_address.required())
        except outbound.OutboundError as error:
            raise RegistrationError(MSG_FETCH_FAILED.format(reason=error.reason)) from None
        if not response.ok:
            raise RegistrationError(MSG_FETCH_FAILED.format(reason=f"HTTP {response.status_code}"),
                                    response.text[:500])
        try:
            return response.json()
        except ValueError:
            raise RegistrationError(MSG_NOT_JSON, response.text[:500]) from None

    def read_configuration(self, document: Any) -> PlatformConfiguration:
        """Steps 5–7: required members, issuer match, RS256, and what to ask for."""
        document = document if isinstance(document, dict) else {}
        missing = [name for name in REQUIRED_MEMBERS if not is_http_url(document.get(name))]
        if missing:
            raise RegistrationError(MSG_MISSING.format(names=", ".join(missing)))
        issuer = document["issuer"]
        if not _issuer_matches(self.openid_configuration_url, issuer):
            raise RegistrationError(MSG_ISSUER_MISMATCH.format(issuer=issuer))
        # The server calls these later (keysets at every launch, tokens for every sync): they came from the
        # platform, not from an admin, so they must lead to public addresses like any URL from a request.
        for name in ("jwks_uri", "token_endpoint", "registration_endpoint") if public_address.required() else ():
            try:
                public_address.check(document[name])
            except public_address.NotPublic:
                raise RegistrationError(MSG_NOT_PUBLIC.format(name=name)) from None
        algorithms = document.get("id_token_signing_alg_values_supported")
        if algorithms is not None and "RS256" not in _strings(algorithms):
            raise RegistrationError(MSG_NO_RS256)
        supported_scopes = document.get("scopes_supported")
        scopes = SERVICE_SCOPES if supported_scopes is None else tuple(
            scope for scope in SERVICE_SCOPES if scope in _strings(supported_scopes))
        platform_configuration = document.get(PLATFORM_CONFIGURATION)
        message_types = _message_types(platform_configuration)
        server = document.get("authorization_server")
        return PlatformConfiguration(
            issuer=issuer, authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"], jwks_uri=document["jwks_uri"],
            registration_endpoint=document["registration_endpoint"],
            authorization_server=server if isinstance(server, str) and server else None,
            scopes=scopes, deep_linking=message_types is None or DEEP_LINKING_REQUEST in message_types,
            product_family=_product_family(platform_configuration))

    def register(self) -> RegisteredClient:
        """Steps 2–9: returns the client the platform created for us; raises RegistrationError otherwise."""
        self.check_request()
        configuration = self.read_configuration(self.get_openid_configuration())
        self.scopes, self.deep_linking = configuration.scopes, configuration.deep_linking
        self.product_family = configuration.product_family
        asked = self.lti_registration_data()
        end_reads(f"POST {configuration.registration_endpoint}")
        try:
            response = outbound.post(configuration.registration_endpoint, json_body=asked,
                                     headers=self._headers(), timeout=TIMEOUT,
                                     public_only=public_address.required())
        except outbound.OutboundError as error:
            raise RegistrationError(MSG_SEND_FAILED.format(reason=error.reason)) from None
        if not response.ok:  # the platform's own explanation is what the admin needs to fix its settings
            explanation = response.text.strip()[:MAX_SHOWN_RESPONSE]
            raise RegistrationError((MSG_REJECTED if explanation else MSG_REJECTED_SILENTLY).format(
                status=response.status_code), explanation or None)
        try:
            answer = response.json()
        except ValueError:
            raise RegistrationError(MSG_NO_CLIENT_ID, response.text[:500]) from None
        client_id = answer.get("client_id") if isinstance(answer, dict) else None
        if not isinstance(client_id, (str, int)) or isinstance(client_id, bool) or str(client_id) == "":
            raise RegistrationError(MSG_NO_CLIENT_ID, response.text[:500])
        tool_configuration = answer.get(TOOL_CONFIGURATION)
        deployment_id = tool_configuration.get("deployment_id") if isinstance(tool_configuration, dict) else None
        return RegisteredClient(configuration=configuration, client_id=str(client_id),
                                deployment_id=str(deployment_id) if deployment_id not in (None, "") else None)
