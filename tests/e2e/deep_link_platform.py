"""The LMS side of LTI 1.3 launches and content selection, for end-to-end tests. Not Courseport's code.

`LmsPlatform` sits on a `PlatformServer` (keys, JWKS, HTTP on 127.0.0.1, request log) and adds what a teacher's
LMS does around a launch, using the independent `lti1p3platform` package wherever it has a helper:

* `login_url(user, message)`: what a click in the LMS opens: the tool's Initiate login URL with the platform's
  login parameters (lti1p3platform's OIDC login).
* `/auth`: the OIDC authorisation endpoint. It checks the tool's preflight request and builds the message
  (lti1p3platform's message launch: user, context, deep-linking settings, or resource link + custom + AGS), then
  answers with the auto-posting form a real platform sends to the tool's redirect URI.
* `/deep_link_return`: the deep-linking return URL. It verifies the tool's LtiDeepLinkingResponse against the
  tool's JWKS URL fetched over HTTP, twice and independently: lti1p3platform's own validation (kid, alg, signature,
  message type, item types) and PyJWT's PyJWKClient (signature, `aud` = our issuer, `iss` = our client ID,
  `exp`, `iat`, `nonce`). Tests assert on what it recorded.

`FormBrowser` drives the flow over HTTP like a browser without script: it follows redirects and submits the
auto-posting forms.
"""
from __future__ import annotations

import html
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Sequence
from urllib.parse import urljoin

import jwt
import requests
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from werkzeug.wrappers import Request, Response

from tests.e2e.platform_server import PlatformServer

DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
MESSAGE_TYPE = "https://purl.imsglobal.org/spec/lti/claim/message_type"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
TIMEOUT = 15


@dataclass
class LmsUser:
    sub: str
    roles: list[str] = field(default_factory=lambda: [INSTRUCTOR])
    name: str = "Terry Teacher"
    email: str | None = None


@dataclass
class DeepLinkingRequest:
    """An LtiDeepLinkingRequest. `settings` changes the claim lti1p3platform builds (None removes a key);
    `omit_settings` leaves the claim out."""

    data: Any = None
    settings: dict[str, Any] = field(default_factory=dict)
    omit_settings: bool = False
    context_id: str = "lms-course-1"


@dataclass
class ResourceLinkRequest:
    """An LtiResourceLinkRequest for a link the platform created (e.g. from a returned content item)."""

    resource_link_id: str
    custom: dict[str, Any] = field(default_factory=dict)
    lineitems: str | None = None
    lineitem: str | None = None
    context_id: str = "lms-course-1"


@dataclass
class DeepLinkReturn:
    """One POST to the return URL, as the platform saw it. `error` is set when it did not verify."""

    token: str
    header: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    content_items: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


class _Conf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration


class _Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class _Launch(LTIAdvantageMessageLaunchAbstract):
    def __init__(self, preflight: dict[str, str], conf: _Conf) -> None:
        super().__init__(None, conf)  # type: ignore[arg-type]
        self._preflight = preflight
        self._registration = conf.get_registration()

    def get_preflight_response(self) -> dict[str, Any]:
        return self._preflight

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> Any:
        return launch_data


class LmsPlatform:
    def __init__(self, server: PlatformServer, tool_url: str, login_id: str) -> None:
        self.server = server
        self.tool_url = tool_url
        self.login_id = login_id
        self.return_url = f"{server.url}/deep_link_return"
        self.returns: list[DeepLinkReturn] = []
        self._pending: dict[str, tuple[LmsUser, DeepLinkingRequest | ResourceLinkRequest]] = {}
        server.tool_jwks_url = f"{tool_url}/lti/jwks"
        server.handlers["/auth"] = self._authorize
        server.handlers["/deep_link_return"] = self._deep_link_return

    @property
    def issuer(self) -> str:
        return self.server.issuer

    @property
    def client_id(self) -> str:
        return self.server.client_id

    def registration(self) -> Registration:
        return (self.server.lti_registration().set_launch_url(f"{self.tool_url}/lti/launch")
                .set_deeplink_launch_url(f"{self.tool_url}/lti/deeplink")
                .set_oidc_login_url(f"{self.tool_url}/lti/login"))

    # What a click in the LMS opens ---------------------------------------------------------------------------
    def login_url(self, user: LmsUser, message: DeepLinkingRequest | ResourceLinkRequest,
                  target: str | None = None) -> str:
        """The tool's Initiate login URL with iss, login_hint, target_link_uri, lti_message_hint, client_id and
        lti_deployment_id. `target` overrides the target_link_uri (by default the URL the message type goes to)."""
        hint = secrets.token_urlsafe(12)
        self._pending[hint] = (user, message)
        login = _Login(None, _Conf(registration=self.registration()))
        login.set_lti_message_hint(hint=hint)
        if target:
            login.set_launch_url(target)
        elif isinstance(message, DeepLinkingRequest):
            login.set_deeplinking_launch_url()
        # lti1p3platform appends its parameters with a second "?" when the login URL already has a query, so the
        # Initiate login URL's own `id` is added afterwards.
        return f"{login.initiate_login(user.sub)}&id={self.login_id}"

    # The platform's endpoints ------------------------------------------------------------------------------
    def _authorize(self, request: Request) -> Response:
        redirect_uri, posted = self.authorize(request.args.to_dict())
        return _auto_post(redirect_uri, posted)

    def authorize(self, preflight: dict[str, str]) -> tuple[str, dict[str, str]]:
        """Answer the tool's authentication request: where to POST, and the `id_token` and `state` to send."""
        user, message = self._pending.pop(preflight.get("lti_message_hint", ""))
        assert preflight.get("login_hint") == user.sub, "the tool must pass login_hint through unchanged"
        launch = _Launch(preflight, _Conf(registration=self.registration()))
        launch.validate_preflight_response(preflight)
        launch.set_user_data(user.sub, user.roles, full_name=user.name, email_address=user.email)
        launch.set_launch_context_claim(message.context_id, context_title="LMS course", context_label="LMS1")
        if isinstance(message, DeepLinkingRequest):
            self._deep_linking_message(launch, message)
        else:
            launch.set_resource_link_claim(message.resource_link_id, title="Link from content selection")
            launch.set_custom_parameters_claim(message.custom)
            if message.lineitems:
                launch.set_ags(message.lineitems, message.lineitem)
        posted = launch.generate_launch_request()
        return preflight["redirect_uri"], {"id_token": posted["id_token"], "state": posted["state"]}

    def _deep_linking_message(self, launch: _Launch, message: DeepLinkingRequest) -> None:
        launch.set_dl(self.return_url, title="Add content", description="Pick content",
                      accept_types={"ltiResourceLink"})
        claim = dict(launch._deep_linking_launch_data[DL_SETTINGS])
        if message.data is not None:
            claim["data"] = message.data  # opaque to the tool: any JSON value, to be echoed verbatim
        for key, value in message.settings.items():
            if value is None:
                claim.pop(key, None)
            else:
                claim[key] = value
        launch._deep_linking_launch_data = {} if message.omit_settings else {DL_SETTINGS: claim}

    def _deep_link_return(self, request: Request) -> Response:
        token = request.form.get("JWT", "")
        received = DeepLinkReturn(token=token)
        self.returns.append(received)
        try:
            received.header = jwt.get_unverified_header(token)
            received.content_items = _Conf(registration=self.registration()).validate_deeplinking_resp(
                {"JWT": token})
            signing_key = jwt.PyJWKClient(f"{self.tool_url}/lti/jwks", cache_jwk_set=False,
                                          timeout=TIMEOUT).get_signing_key_from_jwt(token)
            received.claims = jwt.decode(token, signing_key.key, algorithms=["RS256"], audience=self.issuer,
                                         issuer=self.client_id,
                                         options={"require": ["iss", "aud", "exp", "iat", "nonce"]})
        except Exception as error:  # whatever fails, the platform refuses the response and the test sees why
            received.error = f"{type(error).__name__}: {error}"
            return Response(f"Invalid deep linking response: {html.escape(received.error)}", status=400)
        titles = "".join(f"<li>{html.escape(str(item.get('title')))}</li>" for item in received.content_items)
        page = (f"<!doctype html><html><head><title>LMS course</title></head><body><h1>LMS course</h1>"
                f"<p id=\"received\">The platform received {len(received.content_items)} item(s).</p>"
                f"<ul>{titles}</ul></body></html>")
        return Response(page, mimetype="text/html")

    # Pages a test opens in a browser ---------------------------------------------------------------------------
    def course_page(self, src: str) -> str:
        """A platform page showing the tool in an iframe, as an LMS does for content selection."""
        path = f"/course-{secrets.token_hex(4)}"
        page = (f"<!doctype html><html><head><title>LMS course</title></head><body><h1>LMS course page</h1>"
                f"<iframe id=\"tool\" title=\"Courseport\" width=\"1000\" height=\"640\" "
                f"src=\"{html.escape(src)}\"></iframe></body></html>")
        self.server.handlers[path] = lambda request: Response(page, mimetype="text/html")
        return f"{self.server.url}{path}"


def _auto_post(action: str, fields: dict[str, str]) -> Response:
    inputs = "".join(f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
                     for name, value in fields.items())
    page = (f"<!doctype html><html><head><title>Launching</title></head><body>"
            f"<form id=\"launch\" method=\"post\" action=\"{html.escape(action)}\">{inputs}</form>"
            f"<script>document.getElementById(\"launch\").submit();</script></body></html>")
    return Response(page, mimetype="text/html")


# A browser without script --------------------------------------------------------------------------------------
@dataclass
class Form:
    action: str
    method: str
    attrs: dict[str, str]
    fields: list[tuple[str, str]] = field(default_factory=list)  # hidden and text inputs
    options: list[dict[str, str]] = field(default_factory=list)  # checkboxes, radios and submit buttons


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower(), values))
        elif self.forms and tag in ("input", "button"):
            kind = values.get("type", "submit" if tag == "button" else "text")
            if kind in ("checkbox", "radio", "submit"):
                self.forms[-1].options.append({**values, "type": kind})
            elif values.get("name"):
                self.forms[-1].fields.append((values["name"], values.get("value", "")))


def forms(page: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(page)
    return parser.forms


class FormBrowser:
    """A requests.Session that follows redirects and auto-posting forms (platform launch, deep-link return)."""

    def __init__(self) -> None:
        self.session = requests.Session()

    def get(self, url: str) -> requests.Response:
        return self.session.get(url, timeout=TIMEOUT)

    def post(self, url: str, data: Any) -> requests.Response:
        return self.session.post(url, data=data, timeout=TIMEOUT)

    def submit_auto_form(self, response: requests.Response) -> requests.Response:
        """Submit the page's only form with its hidden fields, as its script would."""
        found = forms(response.text)
        assert len(found) == 1, f"expected one auto-posting form on {response.url}: {response.text[:500]}"
        return self.post(urljoin(response.url, found[0].action), data=found[0].fields)

    def open_tool(self, platform: LmsPlatform, user: LmsUser,
                  message: DeepLinkingRequest | ResourceLinkRequest, target: str | None = None) -> requests.Response:
        """Click in the LMS: login → platform authorisation → auto-posted launch → wherever the tool leads."""
        authorised = self.get(platform.login_url(user, message, target))
        assert authorised.status_code == 200 and authorised.url.startswith(platform.server.url), \
            f"login did not reach the platform: {authorised.status_code} {authorised.url} {authorised.text[:300]}"
        return self.submit_auto_form(authorised)

    def select(self, page: requests.Response, *, course: Sequence[int] = (), gradebook: Sequence[int] = (),
               action: str = "add") -> requests.Response:
        """Submit the Published content form (its CSRF token included) with these rows ticked, or Cancel."""
        form = next(item for item in forms(page.text) if "respond" in item.action)
        data = list(form.fields)
        data += [("course", str(value)) for value in course] + [("gradebook", str(value)) for value in gradebook]
        data.append(("action", action))
        return self.post(urljoin(page.url, form.action), data=data)
