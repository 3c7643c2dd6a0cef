"""An independent LTI 1.1 / 2.0 tool consumer for tests: signs launches with oauthlib's Client, and serves a
Basic Outcomes endpoint, a tool consumer profile, a ToolProxy endpoint and a memberships endpoint over real
HTTP on 127.0.0.1. Every request it receives is checked with oauthlib's own SignatureOnlyEndpoint plus the
body hash, and recorded so tests assert on what the consumer RECEIVED.

It shares no code with the application on purpose.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from oauthlib.oauth1 import (
    SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_BODY, Client, RequestValidator,
    SignatureOnlyEndpoint,
)

POX_NS = "http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0"
FORM = "application/x-www-form-urlencoded"


def sign_launch(url: str, key: str, secret: str, params: dict[str, str], *,
                method: str = SIGNATURE_HMAC_SHA1, timestamp: int | None = None, nonce: str | None = None,
                sign_url: str | None = None) -> str:
    """A form-encoded, body-signed LTI 1.1 launch exactly as an LMS would auto-post it.

    `sign_url` lets a test sign a URL other than the one it posts to (a proxy in front, a wrong URL).
    """
    client = Client(key, client_secret=secret, signature_method=method, signature_type=SIGNATURE_TYPE_BODY,
                    timestamp=str(timestamp) if timestamp is not None else None, nonce=nonce)
    _uri, _headers, body = client.sign(sign_url or url, http_method="POST", body=params,
                                       headers={"Content-Type": FORM})
    return body


def launch_params(user_id: str = "user-1", roles: str = "Learner", **extra: str) -> dict[str, str]:
    params = {
        "lti_message_type": "basic-lti-launch-request",
        "lti_version": "LTI-1p0",
        "resource_link_id": "link-1",
        "resource_link_title": "Week 1",
        "user_id": user_id,
        "roles": roles,
        "context_id": "course-42",
        "context_title": "Biology 101",
        "context_label": "BIO101",
        "lis_person_name_given": "Grace",
        "lis_person_name_family": "Hopper",
        "lis_person_contact_email_primary": "grace@lms.example.org",
        "tool_consumer_instance_name": "Test LMS",
        "tool_consumer_instance_guid": "lms.example.org",
        "tool_consumer_info_version": "4.2",
    }
    params.update(extra)
    return params


class _Validator(RequestValidator):
    """The consumer's own view of OAuth: its known keys, its own nonce memory."""

    def __init__(self, secrets: dict[str, str]) -> None:
        super().__init__()
        self.secrets = secrets
        self.nonces: set[tuple[str, str, str]] = set()

    @property
    def allowed_signature_methods(self):
        return (SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256)

    @property
    def enforce_ssl(self) -> bool:
        return False

    @property
    def dummy_client(self) -> str:
        return "dummy"

    def check_client_key(self, client_key: str) -> bool:
        return bool(client_key)

    def check_nonce(self, nonce: str) -> bool:
        return bool(nonce)

    def validate_client_key(self, client_key, request) -> bool:
        return client_key in self.secrets

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, request_token=None,
                                     access_token=None) -> bool:
        entry = (client_key, timestamp, nonce)
        if entry in self.nonces:
            return False
        self.nonces.add(entry)
        return True

    def get_client_secret(self, client_key, request) -> str:
        return self.secrets.get(client_key, "dummy")


@dataclass
class Received:
    path: str
    method: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool
    body_hash_valid: bool
    consumer_key: str | None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return self.signature_valid and self.body_hash_valid


def _body_hash_ok(headers: dict[str, str], oauth_params: dict[str, str], body: bytes) -> bool:
    if FORM in headers.get("Content-Type", ""):
        return "oauth_body_hash" not in oauth_params
    if not body and "oauth_body_hash" not in oauth_params:
        return True  # a GET: no body, nothing to hash
    expected = base64.b64encode(hashlib.sha1(body).digest()).decode()
    return oauth_params.get("oauth_body_hash") == expected


def outcome_record(body: bytes) -> tuple[str, str, str]:
    """(sourcedId, textString score, messageIdentifier) from a replaceResultRequest."""
    root = ElementTree.fromstring(body)
    ns = {"ims": POX_NS}
    return (root.findtext(".//ims:sourcedGUID/ims:sourcedId", namespaces=ns),
            root.findtext(".//ims:resultScore/ims:textString", namespaces=ns),
            root.findtext(".//ims:imsx_messageIdentifier", namespaces=ns))


def pox_response(code: str, message_ref: str, description: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><imsx_POXEnvelopeResponse xmlns="{POX_NS}">'
            f"<imsx_POXHeader><imsx_POXResponseHeaderInfo><imsx_version>V1.0</imsx_version>"
            f"<imsx_messageIdentifier>{int(time.time())}</imsx_messageIdentifier><imsx_statusInfo>"
            f"<imsx_codeMajor>{code}</imsx_codeMajor><imsx_severity>status</imsx_severity>"
            f"<imsx_description>{description}</imsx_description>"
            f"<imsx_messageRefIdentifier>{message_ref}</imsx_messageRefIdentifier>"
            f"<imsx_operationRefIdentifier>replaceResult</imsx_operationRefIdentifier></imsx_statusInfo>"
            f"</imsx_POXResponseHeaderInfo></imsx_POXHeader><imsx_POXBody><replaceResultResponse/></imsx_POXBody>"
            f"</imsx_POXEnvelopeResponse>")


class ConsumerServer:
    """The LMS side. Routes: POST /outcomes, GET /profile, POST /toolproxy, POST /memberships (LTI 1.1),
    GET /memberships/{context_type}/{context_id} (LTI 2)."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.validator = _Validator(self.secrets)
        self.received: list[Received] = []
        self.scores: list[tuple[str, str]] = []
        self.outcome_failures: list[int] = []   # statuses to answer with before succeeding
        self.outcome_code = "success"
        self.profile_override: dict[str, Any] | None = None
        self.profile_raw: str | None = None  # served verbatim instead of JSON, to test broken profiles
        self.profile_status = 200
        self.toolproxy_status = 201
        self.tool_proxy_guid = "guid-from-lms-0001"
        self.tool_proxies: list[dict[str, Any]] = []
        self.members_xml = ""  # LTI 1.1 readMembershipsForContext answer (POST /memberships)
        self.members_pages: list[dict[str, Any]] = []  # LTI 2 membership container pages (GET /memberships/…)
        self.memberships_status = 200
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> "ConsumerServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Idempotent, so a test may take the consumer offline before the fixture tears it down."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def profile(self, with_memberships: bool = True) -> dict[str, Any]:
        if self.profile_override is not None:
            return self.profile_override
        services = [{"@type": "RestService", "@id": "tcp:ToolProxy.collection",
                     "endpoint": f"{self.url}/toolproxy",
                     "format": ["application/vnd.ims.lti.v2.toolproxy+json"], "action": ["POST"]}]
        if with_memberships:
            services.append({"@type": "RestService", "@id": "tcp:ToolProxyBindingMemberships",
                             "endpoint": f"{self.url}/memberships/{{context_type}}/{{context_id}}",
                             "format": ["application/vnd.ims.lis.v2.membershipcontainer+json"], "action": "GET"})
        return {
            "@context": ["http://purl.imsglobal.org/ctx/lti/v2/ToolConsumerProfile"],
            "@type": "ToolConsumerProfile", "@id": f"{self.url}/profile", "lti_version": "LTI-2p0",
            "guid": "tcp-guid-1",
            "product_instance": {
                "guid": "lms-instance-guid",
                "product_info": {"product_name": {"default_value": "Test LMS"}, "product_version": "4.2",
                                 "product_family": {"code": "testlms", "vendor": {"code": "example"}}},
                "service_owner": {"service_owner_name": {"default_value": "Example School"}},
            },
            "capability_offered": ["basic-lti-launch-request", "User.id", "Person.name.given"],
            "service_offered": services,
        }

    def verify(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Received:
        """Check the request as an LMS would: oauthlib's endpoint for the signature, our own body hash."""
        endpoint = SignatureOnlyEndpoint(self.validator)
        form_body = body.decode() if FORM in headers.get("Content-Type", "") else ""
        valid, request = endpoint.validate_request(f"{self.url}{path}", http_method=method, body=form_body,
                                                   headers=headers)
        oauth_params = dict(request.oauth_params) if request is not None else {}
        received = Received(path=path, method=method, headers=headers, body=body, signature_valid=valid,
                            body_hash_valid=_body_hash_ok(headers, oauth_params, body),
                            consumer_key=oauth_params.get("oauth_consumer_key"),
                            params=dict(parse_qsl(form_body)) if form_body else {})
        with self.lock:
            self.received.append(received)
        return received

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _reply(self, status: int, body: str = "", content_type: str = "application/xml") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path.startswith("/memberships/"):
                    headers = {key: value for key, value in self.headers.items()}
                    if not server.verify("GET", self.path, headers, b"").verified:
                        self._reply(401, "bad signature", "text/plain")
                    elif server.memberships_status != 200:
                        self._reply(server.memberships_status, "unavailable", "text/plain")
                    else:
                        page = int(dict(parse_qsl(urlsplit(self.path).query)).get("page", "0"))
                        body = dict(server.members_pages[page])
                        if page + 1 < len(server.members_pages):
                            body["nextPage"] = f"{server.url}{path}?page={page + 1}"
                        self._reply(200, json.dumps(body), "application/vnd.ims.lis.v2.membershipcontainer+json")
                    return
                if path == "/profile":
                    if server.profile_status != 200:
                        self._reply(server.profile_status, "down", "text/plain")
                    elif server.profile_raw is not None:
                        self._reply(200, server.profile_raw, "application/vnd.ims.lti.v2.toolconsumerprofile+json")
                    else:
                        self._reply(200, json.dumps(server.profile()),
                                    "application/vnd.ims.lti.v2.toolconsumerprofile+json")
                    return
                self._reply(404, "not found", "text/plain")

            def do_POST(self) -> None:
                body = self._body()
                headers = {key: value for key, value in self.headers.items()}
                received = server.verify("POST", self.path, headers, body)
                path = urlsplit(self.path).path
                if not received.verified:
                    self._reply(401, "bad signature", "text/plain")
                elif path == "/outcomes":
                    self._outcome(body)
                elif path == "/toolproxy":
                    server.tool_proxies.append(json.loads(body))
                    if server.toolproxy_status != 201:
                        self._reply(server.toolproxy_status, '{"error": "rejected"}', "application/json")
                    else:
                        self._reply(201, json.dumps({"@context": "http://purl.imsglobal.org/ctx/lti/v2/ToolProxyId",
                                                     "@type": "ToolProxy", "tool_proxy_guid": server.tool_proxy_guid}),
                                    "application/vnd.ims.lti.v2.toolproxy.id+json")
                elif path == "/memberships":
                    if server.memberships_status != 200:
                        self._reply(server.memberships_status, "unavailable", "text/plain")
                    else:
                        self._reply(200, server.members_xml, "application/xml")
                else:
                    self._reply(404, "not found", "text/plain")

            def _outcome(self, body: bytes) -> None:
                with server.lock:
                    failure = server.outcome_failures.pop(0) if server.outcome_failures else None
                if failure:
                    self._reply(failure, "temporarily unavailable", "text/plain")
                    return
                sourcedid, score, message_id = outcome_record(body)
                if server.outcome_code == "success":
                    with server.lock:
                        server.scores.append((sourcedid, score))
                self._reply(200, pox_response(server.outcome_code, message_id,
                                              "Score saved" if server.outcome_code == "success"
                                              else "Unknown sourcedid"))

        return Handler


def lti11_members_xml(members: list[dict[str, str]], code: str = "Success") -> str:
    """A readMembershipsForContext answer as Moodle and Sakai send it."""
    rows = "".join("<member>" + "".join(f"<{name}>{value}</{name}>" for name, value in member.items()) + "</member>"
                   for member in members)
    return (f"<message_response><lti_message_type>basic-lis-readmembershipsforcontext</lti_message_type>"
            f"<statusinfo><codemajor>{code}</codemajor><severity>Status</severity>"
            f"<codeminor>fullsuccess</codeminor></statusinfo><memberships>{rows}</memberships></message_response>")
