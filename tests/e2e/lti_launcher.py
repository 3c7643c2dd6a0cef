"""The LMS side of LTI 1.3 launches for end-to-end tests, on top of `PlatformServer` (not Courseport's code).

The platform's authentication endpoint is lti1p3platform's message launch: it checks the tool's auth request
(state, nonce, redirect_uri, client_id), builds the launch message and signs the id_token with the platform
key. The JWKS endpoint serves the platform's keys (current and rotated-out ones) with configurable cache
headers and can leave out `alg`. `Browser` plays the user's browser with one requests.Session, following the
real flow: platform → GET /lti/login → 302 to the platform's auth URL → auto-post form → POST /lti/launch.

A launch is described by a `LinkSpec`; tests change what the platform signs with `claims` (set a claim, or
remove it with `REMOVE`), `header` and `signer` for the tampering cases.
"""
from __future__ import annotations

import html
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.registration import Registration
from werkzeug.wrappers import Request, Response

from tests.e2e.platform_server import PlatformServer

LIS = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
LEARNER = [LIS + "Learner"]
INSTRUCTOR = [LIS + "Instructor"]
REMOVE = object()
_INPUT = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
_ACTION = re.compile(r'<form method="POST" action="([^"]+)"')


def new_key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@dataclass
class LinkSpec:
    """One resource link click by one platform user."""

    sub: str = "student-1"
    roles: list[str] = field(default_factory=lambda: list(LEARNER))
    resource_uuid: str | None = None
    given_name: str | None = "Stu"
    family_name: str | None = "Dent"
    name: str | None = "Stu Dent"
    email: str | None = "stu@school.example"
    resource_link_id: str = "link-1"
    context_id: str = "course-101"
    context_title: str = "Biology 101"
    return_url: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    ags: dict[str, Any] | None = None  # lineitems, lineitem
    nrps_url: str | None = None
    message_type: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)  # applied last; REMOVE deletes
    header: dict[str, Any] | None = None  # replaces the JWT header's kid (e.g. {"kid": "nope"})
    signer: Callable[[dict[str, Any]], str] | None = None  # signs the final claims instead of the platform
    expiration: int = 300


class _PlatformConf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration


class _PlatformLaunch(LTIAdvantageMessageLaunchAbstract):
    """lti1p3platform's launch: the preflight response is the tool's auth request (a GET)."""

    def __init__(self, query: dict[str, str], conf: _PlatformConf, spec: LinkSpec) -> None:
        super().__init__(None, conf)  # type: ignore[arg-type]
        self._query = query
        self._spec = spec
        self.signed_claims: dict[str, Any] = {}

    def get_preflight_response(self) -> dict[str, Any]:
        return self._query

    def get_launch_data(self) -> tuple[dict[str, Any], str]:
        message, state = super().get_launch_data()
        if self._spec.message_type:
            message["https://purl.imsglobal.org/spec/lti/claim/message_type"] = self._spec.message_type
        for name, value in self._spec.claims.items():
            if value is REMOVE:
                message.pop(name, None)
            else:
                message[name] = value
        return message, state

    def generate_launch_request(self) -> dict[str, str]:
        if self._spec.header is None and self._spec.signer is None:
            result = super().generate_launch_request()
            self.signed_claims = jwt.decode(result["id_token"], options={"verify_signature": False})
            return result
        claims, state = self.get_launch_data()
        if "exp" not in claims:
            now = int(time.time())
            claims.update(iat=now, exp=now + self._spec.expiration)
        self.signed_claims = claims
        if self._spec.signer is not None:
            return {"state": state, "id_token": self._spec.signer(claims)}
        registration = self._registration
        assert registration is not None
        token = Registration.encode_and_sign(claims, registration.get_platform_private_key() or "",
                                             headers=self._spec.header)
        return {"state": state, "id_token": token}

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> Response:
        fields = "".join(f'<input type="hidden" name="{name}" value="{html.escape(launch_data[name])}">'
                         for name in ("id_token", "state"))
        page = (f'<!doctype html><html><body><form method="POST" action="{html.escape(launch_data["launch_url"])}">'
                f'{fields}</form><script>document.forms[0].submit();</script></body></html>')
        return Response(page, mimetype="text/html")


class _SigningRegistration(Registration):
    """lti1p3platform's registration holding the loaded signing key and its kid: parsing the PEM for every
    token would make the platform, not the tool, the slowest part of a benchmark."""

    def __init__(self, kid: str) -> None:
        self._kid = kid

    def get_kid(self) -> str:
        return self._kid


class LaunchPlatform:
    """Launch side of a PlatformServer: link specs by lti_message_hint, id_tokens from lti1p3platform."""

    def __init__(self, server: PlatformServer, tool_url: str) -> None:
        self.server = server
        self.tool_url = tool_url
        self.links: dict[str, LinkSpec] = {}
        self.issued: list[dict[str, Any]] = []  # the claims of every id_token the platform signed
        self.retired_public_keys: list[str] = []
        self.jwks_headers: dict[str, str] = {"Cache-Control": "max-age=3600"}
        self.jwks_without_alg = False
        self._signing: tuple[str, Any, str] | None = None  # (private PEM, loaded key, kid)
        server.handlers["/auth"] = self._auth
        server.handlers["/jwks"] = self._jwks

    @property
    def issuer(self) -> str:
        return self.server.issuer

    @property
    def client_id(self) -> str:
        return self.server.client_id

    @property
    def auth_url(self) -> str:
        return f"{self.server.url}/auth"

    @property
    def jwks_url(self) -> str:
        return f"{self.server.url}/jwks"

    def jwks_fetches(self) -> int:
        return len(self.server.requests_to("/jwks"))

    def auth_requests(self) -> list[dict[str, str]]:
        return [{key: values[0] for key, values in r.query.items()} for r in self.server.requests_to("/auth")]

    def rotate_key(self) -> None:
        """A new signing key; the old public key stays in the JWKS (as platforms do during rotation)."""
        self.retired_public_keys.append(self.server.public_key_pem)
        self.server.private_key_pem, self.server.public_key_pem = new_key_pair()

    def _signing_key(self) -> tuple[Any, str]:
        pem = self.server.private_key_pem
        if self._signing is None or self._signing[0] != pem:
            self._signing = (pem, serialization.load_pem_private_key(pem.encode(), password=None),
                             self.server.lti_registration().get_kid() or "")
        return self._signing[1], self._signing[2]

    def current_kid(self) -> str:
        return self._signing_key()[1]

    def registration(self) -> Registration:
        """The platform's registration of the tool, signing with the current key."""
        key, kid = self._signing_key()
        registration = (_SigningRegistration(kid).set_iss(self.issuer).set_client_id(self.client_id)
                        .set_platform_public_key(self.server.public_key_pem).set_platform_private_key(key))
        if self.server.deployment_id:
            registration.set_deployment_id(self.server.deployment_id)
        return registration

    def add_link(self, spec: LinkSpec, hint: str | None = None) -> str:
        hint = hint or secrets.token_hex(8)
        self.links[hint] = spec
        return hint

    def sign_with_platform_key(self, claims: dict[str, Any], **headers: Any) -> str:
        key, kid = self._signing_key()
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, **headers})

    # HTTP handlers ---------------------------------------------------------------------------------------------
    def _jwks(self, request: Request) -> Response:
        keys = [Registration.get_jwk(pem) for pem in [*self.retired_public_keys, self.server.public_key_pem]]
        if self.jwks_without_alg:
            keys = [{name: value for name, value in key.items() if name != "alg"} for key in keys]
        return Response(json.dumps({"keys": keys}), mimetype="application/json", headers=self.jwks_headers)

    def _auth(self, request: Request) -> Response:
        query = request.args.to_dict()
        spec = self.links.get(query.get("lti_message_hint", ""))
        if spec is None:
            return Response("unknown lti_message_hint", status=400)
        conf = _PlatformConf(registration=self.registration())
        launch = _PlatformLaunch(query, conf, spec)
        launch.set_launch_url(f"{self.tool_url}/lti/launch")
        launch.set_user_data(spec.sub, spec.roles, full_name=spec.name, email_address=spec.email)
        launch.set_resource_link_claim(spec.resource_link_id, title=f"Link {spec.resource_link_id}")
        launch.set_launch_context_claim(spec.context_id, context_types=[
            "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering", "urn:other:type"],
            context_title=spec.context_title, context_label=spec.context_id.upper())
        custom = {**({"id": spec.resource_uuid} if spec.resource_uuid else {}), **spec.custom}
        launch.set_custom_parameters_claim(custom)
        if spec.return_url:
            launch.set_launch_presentation_claim(document_target="iframe", return_url=spec.return_url)
        if spec.ags:
            launch.set_ags(lineitems_url=spec.ags["lineitems"], lineitem_url=spec.ags.get("lineitem"),
                           allow_creating_lineitems=True)
        if spec.nrps_url:
            launch.set_nrps(spec.nrps_url)
        names = {key: value for key, value in (("given_name", spec.given_name), ("family_name", spec.family_name))
                 if value}
        if names:
            launch.set_extra_claims(names)
        launch.set_id_token_expiration(spec.expiration)
        response = launch.lti_launch()
        self.issued.append(launch.signed_claims)
        return response


@dataclass
class LaunchResult:
    login: requests.Response
    auth: requests.Response | None
    launch: requests.Response | None
    form: dict[str, str]

    @property
    def final(self) -> requests.Response:
        return self.launch or self.auth or self.login


def launch_in_test_client(client: Any, platform: LaunchPlatform, resource_uuid: str, sub: str,
                       roles: list[str], tool_url: str) -> Any:
    """A first launch by `sub` run in a Flask test client (the tool at `tool_url`); returns the launch POST's
    response. The platform's auth step is real HTTP."""
    hint = platform.add_link(LinkSpec(sub=sub, roles=roles, resource_uuid=resource_uuid))
    login = client.get("/lti/login", query_string={
        "iss": platform.issuer, "login_hint": sub, "target_link_uri": f"{tool_url}/lti/launch",
        "lti_message_hint": hint, "client_id": platform.client_id})
    auth = requests.get(login.headers["Location"], timeout=10)
    return client.post("/lti/launch", data={name: html.unescape(value) for name, value in _INPUT.findall(auth.text)})


class Browser:
    """One simulated browser (cookie jar) driving complete launches."""

    def __init__(self, tool_url: str) -> None:
        self.tool_url = tool_url
        self.session = requests.Session()

    def get(self, path_or_url: str, **kwargs: Any) -> requests.Response:
        url = path_or_url if path_or_url.startswith("http") else self.tool_url + path_or_url
        return self.session.get(url, allow_redirects=False, timeout=10, **kwargs)

    def post(self, path_or_url: str, data: dict[str, Any], **kwargs: Any) -> requests.Response:
        url = path_or_url if path_or_url.startswith("http") else self.tool_url + path_or_url
        return self.session.post(url, data=data, allow_redirects=False, timeout=10, **kwargs)

    def login_params(self, platform: LaunchPlatform, hint: str, **overrides: Any) -> dict[str, str]:
        params = {"iss": platform.issuer, "login_hint": platform.links[hint].sub,
                  "target_link_uri": f"{self.tool_url}/lti/launch", "lti_message_hint": hint,
                  "client_id": platform.client_id, "lti_deployment_id": platform.server.deployment_id or ""}
        params.update(overrides)
        return {key: value for key, value in params.items() if value is not None}

    def start(self, platform: LaunchPlatform, hint: str, *, login_id: str | None = None,
              **overrides: Any) -> LaunchResult:
        """Login initiation and the platform's auth step; returns before the launch POST."""
        query = self.login_params(platform, hint, **overrides)
        path = "/lti/login?" + urlencode({**({"id": login_id} if login_id else {}), **query})
        login = self.get(path)
        if login.status_code != 302 or not login.headers["Location"].startswith(platform.auth_url):
            return LaunchResult(login, None, None, {})
        auth = self.session.get(login.headers["Location"], timeout=10)
        form = dict(_INPUT.findall(auth.text))
        action = _ACTION.search(auth.text)
        if action:
            form["action"] = html.unescape(action.group(1))
        return LaunchResult(login, auth, None, {key: html.unescape(value) for key, value in form.items()})

    def submit(self, started: LaunchResult, **form_overrides: Any) -> LaunchResult:
        data = {key: value for key, value in started.form.items() if key != "action"}
        data.update(form_overrides)
        data = {key: value for key, value in data.items() if value is not None}
        launch = self.post(started.form["action"], data)
        return LaunchResult(started.login, started.auth, launch, started.form)

    def launch(self, platform: LaunchPlatform, hint: str, **login_overrides: Any) -> LaunchResult:
        return self.submit(self.start(platform, hint, **login_overrides))

    def follow(self, response: requests.Response) -> requests.Response:
        """Follow redirects inside the tool (relative Locations), like a browser would."""
        while response.status_code in (301, 302, 303):
            response = self.get(response.headers["Location"])
        return response
