"""A stand-in LMS for end-to-end tests: a real HTTP server on 127.0.0.1 that is not Courseport's code.

Keys, JWKS, id_token signing and the OAuth token endpoint come from the independent `lti1p3platform`
package; the OpenID configuration and the dynamic registration endpoint (for which that package has no
helper) are written here from the LTI Dynamic Registration 1.0 spec. Every request the platform receives
is recorded so tests assert on what Courseport actually sent.

Usage::

    with PlatformServer() as platform:
        platform.tool_jwks_url = f"{live_server.url}/lti/jwks"   # where the token endpoint checks assertions
        url = platform.registration_start_url(tool_registration_url, registration_token="abc")
        ...                                                       # drive Courseport
        body = platform.requests_to("/register")[0].json()

Change behaviour per test by editing `openid_configuration`, `registration_response`, or by installing a
handler for any path: `platform.handlers["/register"] = lambda request: Response("no", status=500)`.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.exceptions import LtiException
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.registration import Registration
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.helpers import free_port

PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
ALL_SCOPES = [
    "openid",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]

Handler = Callable[[Request], Response]


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


class _PlatformConf(LTI1P3PlatformConfAbstract):
    """lti1p3platform's platform side, holding one registration (ours, as the platform sees the tool)."""

    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration


class PlatformServer:
    """One platform with one client registration for the tool; start()/stop() or use as a context manager."""

    def __init__(self, client_id: str = "courseport-client", deployment_id: str = "deployment-1") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = self.url
        self.client_id = client_id
        self.deployment_id: str | None = deployment_id
        self.tool_jwks_url: str | None = None
        self.requests: list[RecordedRequest] = []
        self.handlers: dict[str, Handler] = {}
        self.issued_tokens: list[dict[str, Any]] = []
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_key_pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        self.public_key_pem = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.openid_configuration: dict[str, Any] = self.default_openid_configuration()
        # None: answer like a real platform, echoing the tool's request with our client_id and deployment_id.
        self.registration_response: dict[str, Any] | None = None
        self._server = make_server("127.0.0.1", self.port, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # Lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> "PlatformServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def __enter__(self) -> "PlatformServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # What tests read -----------------------------------------------------------------------------------------
    @property
    def openid_configuration_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    def registration_start_url(self, tool_registration_url: str, registration_token: str | None = None,
                               openid_configuration: str | None = None) -> str:
        """The URL the platform opens in its window: the tool's Registration URL plus its own parameters."""
        params = {"openid_configuration": openid_configuration or self.openid_configuration_url}
        if registration_token is not None:
            params["registration_token"] = registration_token
        return f"{tool_registration_url}&{urlencode(params)}"

    def lti_registration(self) -> Registration:
        """lti1p3platform's view of the tool registration (fresh each time, so no keyset is cached)."""
        registration = (Registration().set_iss(self.issuer).set_client_id(self.client_id)
                        .set_platform_public_key(self.public_key_pem)
                        .set_platform_private_key(self.private_key_pem))
        if self.deployment_id:
            registration.set_deployment_id(self.deployment_id)
        if self.tool_jwks_url:
            registration.set_tool_key_set_url(self.tool_jwks_url)
        return registration

    def sign(self, claims: dict[str, Any], expiration: int | None = 3600) -> str:
        """A JWT signed with the platform key (kid in the header), e.g. an id_token for a launch."""
        return self.lti_registration().platform_encode_and_sign(dict(claims), expiration=expiration)

    def default_openid_configuration(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/auth",
            "token_endpoint": f"{self.url}/token",
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "jwks_uri": f"{self.url}/jwks",
            "registration_endpoint": f"{self.url}/register",
            "scopes_supported": list(ALL_SCOPES),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
            PLATFORM_CONFIGURATION: {
                "product_family_code": "lti1p3platform-test",
                "version": "1.0",
                "messages_supported": [{"type": "LtiResourceLinkRequest"}, {"type": "LtiDeepLinkingRequest"}],
            },
        }

    # HTTP --------------------------------------------------------------------------------------------------
    def _wsgi(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        body = request.get_data()
        self.requests.append(RecordedRequest(request.method, request.path, parse_qs(request.query_string.decode()),
                                             dict(request.headers), body))
        handler = self.handlers.get(request.path) or self._routes().get(request.path, self._not_found)
        return handler(request)(environ, start_response)

    def _routes(self) -> dict[str, Handler]:
        return {
            "/.well-known/openid-configuration": lambda request: _json(self.openid_configuration),
            "/register": self._register,
            "/jwks": lambda request: _json({"keys": self.lti_registration().get_jwks()}),
            "/token": self._token,
            "/auth": lambda request: Response("authorisation endpoint", mimetype="text/plain"),
            "/tool-window": self._tool_window,
            "/messages": lambda request: Response(status=204),
        }

    @staticmethod
    def _not_found(request: Request) -> Response:
        return Response("not found", status=404, mimetype="text/plain")

    def _register(self, request: Request) -> Response:
        if request.method != "POST":
            return Response(status=405)
        if self.registration_response is not None:
            return _json(self.registration_response)
        sent = request.get_json(force=True)
        tool_configuration = dict(sent.get(TOOL_CONFIGURATION, {}))
        if self.deployment_id:
            tool_configuration["deployment_id"] = self.deployment_id
        return _json({**sent, "client_id": self.client_id, TOOL_CONFIGURATION: tool_configuration})

    def _token(self, request: Request) -> Response:
        """Client credentials with a JWT assertion, verified by lti1p3platform against the tool's JWKS URL."""
        form = request.form.to_dict()
        conf = _PlatformConf(registration=self.lti_registration())
        try:
            claims = conf.tool_validate_and_decode(form.get("client_assertion", ""))
            if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
                raise LtiException(f"unknown client {claims.get('iss')}")
            token = conf.get_access_token(form)
        except Exception as error:  # every failure is the client's fault here, as on a real platform
            return _json({"error": "invalid_client", "error_description": str(error)}, status=401)
        self.issued_tokens.append(dict(token))
        return _json(token)

    def _tool_window(self, request: Request) -> Response:
        """A platform page that opens the tool's registration in an iframe and reports messages it gets."""
        src = json.dumps(request.args.get("src", ""))
        page = f"""<!doctype html><html><head><title>Platform</title></head><body>
<h1>Platform: register a tool</h1>
<iframe id="tool" title="Tool registration" width="900" height="400"></iframe>
<ul id="received"></ul>
<script>
window.addEventListener("message", function (event) {{
  var item = document.createElement("li");
  item.textContent = JSON.stringify(event.data);
  document.getElementById("received").appendChild(item);
  fetch("/messages", {{method: "POST", body: JSON.stringify({{origin: event.origin, data: event.data}})}});
}});
document.getElementById("tool").src = {src};
</script></body></html>"""
        return Response(page, mimetype="text/html")


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")
