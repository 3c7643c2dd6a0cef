"""A platform that is not our code, for grade and member sync tests and the sync benchmarks.

Built on `lti1p3platform`: its platform configuration issues access tokens (checking our signed client
assertion against our public keys) and validates them on every service call, and its AGS and NRPS service
classes answer the line item, score and membership requests. This module adds what a real LMS has around
them: an HTTP server on 127.0.0.1, `Link: rel="next"` paging, media type and scope checks, a record of every
request, and faults to inject (errors, Retry-After, stalls, gates, revoked tokens).

Run on its own for the benchmarks: `python -m tests.e2e.ags_platform --jwks FILE --port N [--members N]`.
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import re
import secrets
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode

import jwt
from lti1p3platform.exceptions import LineItemNotFoundException, LtiException, LtiServiceException
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request as LtiRequest
from lti1p3platform.request import TRequest
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import AssignmentsGradesService, NamesRoleProvisioningService, TPage
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.e2e.lti_launcher import new_key_pair

SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
MEMBERSHIPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MEDIA = {
    "score": "application/vnd.ims.lis.v1.score+json",
    "lineitem": "application/vnd.ims.lis.v2.lineitem+json",
    "lineitems": "application/vnd.ims.lis.v2.lineitemcontainer+json",
    "memberships": "application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
}
JSON_TYPES = ("application/json", MEDIA["score"], MEDIA["lineitem"])


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class Fault:
    match: str
    status: int = 500
    times: int = 1
    retry_after: str | None = None
    stall: float = 0.0
    body: str = "Internal error"


@dataclass
class Gate:
    """Holds the first `barrier.parties` matching requests until all of them are in: clients racing."""

    match: str
    barrier: threading.Barrier
    left: int
    broken: bool = False


@dataclass
class Score:
    lineitem: str
    data: dict[str, Any]


@dataclass
class _LineItem:
    id: str
    data: dict[str, Any]


class _Conf(LTI1P3PlatformConfAbstract):
    """The platform's side of the registration: its key pair and the tool's public keys."""

    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = (Registration().set_iss(kwargs["issuer"]).set_client_id(kwargs["client_id"])
                              .set_platform_private_key(kwargs["private_key"])
                              .set_platform_public_key(kwargs["public_key"])
                              .set_tool_key_set(kwargs["tool_jwks"]))

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration


class _WerkzeugRequest(LtiRequest):
    """A werkzeug request in the shape lti1p3platform's services read (numbers for page and limit)."""

    def build_metadata(self, request: tuple[Request, dict[str, Any]]) -> TRequest:
        raw, defaults = request
        query: dict[str, Any] = {**defaults, **dict(raw.args)}
        for name in ("page", "limit"):
            if name in query:
                query[name] = int(query[name])
        content_type = (raw.headers.get("Content-Type") or "").split(";")[0].strip()
        body = raw.get_data(as_text=True)
        return {"method": raw.method, "form_data": dict(raw.form), "get_data": query, "headers": raw.headers,
                "content_type": content_type, "path": raw.path,
                "json": json.loads(body) if body and content_type in JSON_TYPES else None}


class _Ags(AssignmentsGradesService):
    def __init__(self, platform: "AgsPlatform", request: LtiRequest, context: str) -> None:
        super().__init__(request, platform.conf, platform.lineitems_url(context))
        self.platform = platform
        self.context = context

    def _items(self) -> list[_LineItem]:
        return self.platform.lineitems.setdefault(self.context, [])

    def find_lineitems(self, page: int = 1, limit: int | None = None, line_item_id: str | None = None,
                       resource_link_id: str | None = None, resource_id: str | None = None,
                       tag: str | None = None, **_other: Any) -> TPage:
        if not self.platform.honour_filters:
            resource_link_id = resource_id = tag = None
        items = [item.data for item in self._items()
                 if (resource_link_id is None or item.data.get("resourceLinkId") == resource_link_id)
                 and (resource_id is None or item.data.get("resourceId") == resource_id)
                 and (tag is None or item.data.get("tag") == tag)]
        size = limit or self.platform.lineitem_page_size
        start = (page - 1) * size
        return {"content": items[start:start + size], "has_next": start + size < len(items), "next": None}

    def find_lineitem(self, line_item_id: str) -> dict[str, Any]:
        for item in self._items():
            if item.id == line_item_id:
                return item.data
        raise LineItemNotFoundException(line_item_id)

    def create_lineitem(self, creation_data: dict[str, Any]) -> dict[str, Any]:
        url = self.platform.add_lineitem(self.context, **{k: creation_data.get(k) for k in (
            "label", "scoreMaximum", "resourceId", "tag", "resourceLinkId")})
        return self.find_lineitem(url)

    def update_lineitem(self, update_data: dict[str, Any]) -> dict[str, Any]:
        raise LtiServiceException("not supported", 405)

    def delete_lineitem(self, line_item_id: str) -> None:
        raise LtiServiceException("not supported", 405)

    def update_score(self, line_item_id: str, score: dict[str, Any]) -> UpdateScoreStatus:
        self.find_lineitem(line_item_id)
        missing = {"userId", "activityProgress", "gradingProgress", "timestamp"} - set(score or {})
        if missing:
            raise LtiServiceException(f"missing {sorted(missing)}", 400)
        key = (line_item_id, score["userId"])
        with self.platform.lock:
            previous = self.platform.last_timestamps.get(key)
            if previous is not None and score["timestamp"] <= previous:
                return UpdateScoreStatus.OLD_TIMESTAMP
            self.platform.last_timestamps[key] = score["timestamp"]
            self.platform.received.append(Score(line_item_id, score))
        return UpdateScoreStatus.SUCCESS

    def get_results(self, line_item_id: str, page: int = 1, limit: int | None = None,
                    user_id: str | None = None) -> TPage:
        raise LtiServiceException("not supported", 405)


class _Nrps(NamesRoleProvisioningService):
    def __init__(self, platform: "AgsPlatform", request: LtiRequest, context: str) -> None:
        super().__init__(request, platform.conf, platform.memberships_url(context))
        self.platform = platform
        self.context = context

    def get_context_by_id(self) -> Context:
        return Context(id=self.context, label=self.context.upper(), title=f"Course {self.context}")

    def is_resource_link_valid(self, context_id: str, resource_link_id: str) -> bool:
        return resource_link_id not in self.platform.refused_links

    def get_member_data_page(self, page: int = 1, limit: int | None = None, role: str | None = None,
                             since: str | None = None, rlid: str | None = None, **_other: Any) -> TPage:
        size = limit or self.platform.member_page_size
        total, members = self.platform.roster(self.context, rlid, (page - 1) * size, size)
        return {"content": members, "has_next": page * size < total, "next": None}


class _KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 with persistent connections, as a real LMS serves its services: a client's keep-alive
    connection is reused for its next request.

    werkzeug's own handler answers every request with `Connection: close` (and, once answered, drains the socket
    for 10 ms, which would swallow a keep-alive client's next request), so clients reconnected for every call
    and a connection pool could not be told from none. Here the request body is read whole by its
    Content-Length before the application runs, so the stream is always at the next request line, and the
    answer carries its Content-Length. A chunked or `Expect: 100-continue` request, which no client of this
    platform sends, goes through werkzeug's handler and closes the connection as before."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # As web servers do on keep-alive connections: a small answer goes out at once, not after the client's
        # delayed ACK of the previous segment (Nagle), which would add ~40 ms to every call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:  # type: ignore[attr-defined]
            self.server.connections.add(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        with self.server.connections_lock:  # type: ignore[attr-defined]
            self.server.connections.discard(self.connection)  # type: ignore[attr-defined]
        super().finish()

    def run_wsgi(self) -> None:
        if "Transfer-Encoding" in self.headers or self.headers.get("Expect"):
            self.close_connection = True
            super().run_wsgi()
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.send_error(400, "Bad Content-Length")
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        self.environ = environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["wsgi.input_terminated"] = True
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            answer["status"], answer["headers"] = status, headers
            return lambda data: answer.setdefault("written", []).append(data)

        try:
            chunks = self.server.app(environ, start_response)  # type: ignore[attr-defined]
            try:
                payload = b"".join([*answer.get("written", []), *chunks])
            finally:
                if hasattr(chunks, "close"):
                    chunks.close()
        except Exception:  # noqa: BLE001 - a bug in the platform answers 500, as werkzeug's handler does
            self.server.log("error", f"Error on request:\n{traceback.format_exc()}")  # type: ignore[attr-defined]
            answer = {"status": "500 INTERNAL SERVER ERROR", "headers": [("Content-Type", "text/plain")]}
            payload, self.close_connection = b"Internal Server Error", True
        code, _, message = answer["status"].partition(" ")
        self.send_response(int(code), message)
        headers = [(k, v) for k, v in answer["headers"] if k.lower() not in ("content-length", "connection")]
        for key, value in headers:
            self.send_header(key, value)
        if self.command == "HEAD" or int(code) in (204, 304) or int(code) < 200:
            payload = b""
        else:
            self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.extend((b"\r\n", payload))  # type: ignore[attr-defined]
        self.flush_headers()  # status line, headers and body in one write


class AgsPlatform:
    """An LMS's AGS, NRPS and token endpoints on 127.0.0.1, recording what it receives."""

    def __init__(self, tool_jwks: dict[str, Any], *, client_id: str = "courseport-client", port: int = 0,
                 lineitem_page_size: int = 10, member_page_size: int = 100, token_lifetime: int = 3600) -> None:
        self._server = make_server("127.0.0.1", port, self._wsgi, threaded=True, request_handler=_KeepAliveHandler)
        # Open keep-alive connections are closed by stop(), not waited for (their threads idle until then).
        self._server.block_on_close = False  # type: ignore[attr-defined]
        self._server.connections = set()  # type: ignore[attr-defined]
        self._server.connections_lock = threading.Lock()  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.issuer = self.url
        self.client_id = client_id
        self.token_url = f"{self.url}/token"
        private, public = new_key_pair()
        self.conf = _Conf(issuer=self.issuer, client_id=client_id, private_key=private, public_key=public,
                          tool_jwks=tool_jwks)
        self.public_key = public
        self.lineitem_page_size = lineitem_page_size
        self.member_page_size = member_page_size
        self.token_lifetime = token_lifetime
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.received: list[Score] = []
        self.last_timestamps: dict[tuple[str, str], str] = {}
        self.lineitems: dict[str, list[_LineItem]] = {}
        self.faults: list[Fault] = []
        self.gates: list[Gate] = []
        self.issued: list[dict[str, Any]] = []
        self.revoked: set[str] = set()
        self.refused_links: set[str] = set()
        self.rosters: dict[tuple[str, str | None], Callable[[int, int], tuple[int, list[dict[str, Any]]]]] = {}
        self.record = True
        self.honour_filters = True  # some LMSs ignore the line item query filters
        self.stuck_next_url: str | None = None  # a broken LMS sends the same "next" page forever
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> "AgsPlatform":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._server.connections_lock:  # type: ignore[attr-defined]
            for connection in list(self._server.connections):  # type: ignore[attr-defined]
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._thread.join(timeout=5)

    def __enter__(self) -> "AgsPlatform":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- data --------------------------------------------------------------------------------------------
    def lineitems_url(self, context: str = "c1") -> str:
        return f"{self.url}/contexts/{context}/lineitems"

    def memberships_url(self, context: str = "c1") -> str:
        return f"{self.url}/contexts/{context}/memberships"

    def add_lineitem(self, context: str = "c1", *, label: str | None = "Column", scoreMaximum: float | None = 100,
                     resourceId: str | None = None, tag: str | None = None, resourceLinkId: str | None = None,
                     query: str = "") -> str:
        """A line item; `query` gives its URL a query string, as some LMSs do (e.g. "type_id=7")."""
        with self.lock:
            items = self.lineitems.setdefault(context, [])
            url = f"{self.lineitems_url(context)}/{len(items) + 1}" + (f"?{query}" if query else "")
            data = {"id": url, "label": label, "scoreMaximum": scoreMaximum, "resourceId": resourceId, "tag": tag,
                    "resourceLinkId": resourceLinkId}
            items.append(_LineItem(url, {key: value for key, value in data.items() if value is not None}))
        return url

    def all_lineitems(self, context: str = "c1") -> list[dict[str, Any]]:
        return [item.data for item in self.lineitems.get(context, [])]

    def scores(self, lineitem_url: str | None = None) -> list[Score]:
        with self.lock:
            return [s for s in self.received if lineitem_url is None or s.lineitem == lineitem_url]

    def set_roster(self, members: list[dict[str, Any]] | Callable[[int, int], tuple[int, list[dict[str, Any]]]],
                   *, context: str = "c1", rlid: str | None = None) -> None:
        """Members for the context (rlid None) or for one resource link; a callable serves huge rosters
        page by page without building them."""
        if callable(members):
            self.rosters[(context, rlid)] = members
        else:
            frozen = list(members)
            self.rosters[(context, rlid)] = lambda start, size: (len(frozen), frozen[start:start + size])

    def roster(self, context: str, rlid: str | None, start: int, size: int) -> tuple[int, list[dict[str, Any]]]:
        source = self.rosters.get((context, rlid)) or self.rosters.get((context, None))
        return source(start, size) if source else (0, [])

    def requests_to(self, pattern: str, method: str | None = None) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if re.search(pattern, r.path) and (method is None or r.method == method)]

    # --- faults ------------------------------------------------------------------------------------------
    def fail(self, match: str, status: int = 500, *, times: int = 1, retry_after: str | None = None,
             body: str = "Internal error") -> None:
        """Answer the next `times` requests whose path matches `match` with `status`."""
        with self.lock:
            self.faults.append(Fault(match, status, times, retry_after, 0.0, body))

    def stall(self, match: str, seconds: float, *, times: int = 1) -> None:
        """Hold the next matching requests for `seconds` before answering normally (client timeouts)."""
        with self.lock:
            self.faults.append(Fault(match, 0, times, None, seconds))

    def gate(self, match: str, arrivals: int, timeout: float = 30.0) -> Gate:
        """Hold the next `arrivals` requests whose path matches until all of them have arrived, then answer them
        together; after `timeout` seconds they go on without the others and the gate reports `broken`."""
        gate = Gate(match, threading.Barrier(arrivals, timeout=timeout), arrivals)
        with self.lock:
            self.gates.append(gate)
        return gate

    def _wait_at_gate(self, path: str) -> None:
        with self.lock:
            gate = next((gate for gate in self.gates if gate.left > 0 and re.search(gate.match, path)), None)
            if gate is not None:
                gate.left -= 1
        if gate is not None:
            try:
                gate.barrier.wait()
            except threading.BrokenBarrierError:
                gate.broken = True

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working (its next use gets 401)."""
        with self.lock:
            self.revoked.update(token["access_token"] for token in self.issued)

    def _fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and re.search(fault.match, path):
                    fault.times -= 1
                    return fault
        return None

    # --- HTTP --------------------------------------------------------------------------------------------
    @Request.application
    def _wsgi(self, request: Request) -> Response:
        body: Any = request.get_data(as_text=True)
        try:
            body = json.loads(body) if body and request.mimetype in JSON_TYPES else (dict(request.form) or body)
        except ValueError:
            pass
        entry = Recorded(request.method, request.path, dict(request.args), dict(request.headers), body)
        if self.record:
            with self.lock:
                self.requests.append(entry)
        self._wait_at_gate(request.path)
        fault = self._fault(request.path)
        if fault is not None and fault.stall:
            time.sleep(fault.stall)
            fault = None
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            response = Response(fault.body, status=fault.status, headers=headers)
        else:
            response = self._route(request)
        entry.status = response.status_code
        return response

    def _route(self, request: Request) -> Response:
        if request.path == "/token" and request.method == "POST":
            return self._token(request)
        match = re.fullmatch(r"/contexts/([^/]+)/(lineitems|memberships)(/[^/]+)?(/scores)?", request.path)
        if not match:
            return Response("Not found", status=404)
        context, kind, item, scores = match.groups()
        if kind == "memberships":
            return self._serve(request, MEMBERSHIPS, _Nrps(self, _WerkzeugRequest(
                (request, {"limit": self.member_page_size})), context).handle_get_members, MEDIA["memberships"])
        service = _Ags(self, _WerkzeugRequest((request, {})), context)
        if item and scores:
            if request.mimetype != MEDIA["score"]:
                return Response("Unsupported media type", status=415)
            line_item_id = self.lineitems_url(context) + item + (f"?{request.query_string.decode()}"
                                                                 if request.query_string else "")
            return self._serve(request, SCORE, lambda: service.handle_update_score(line_item_id=line_item_id))
        if item:
            return Response("Not found", status=404)
        if request.method == "POST":
            if request.mimetype != MEDIA["lineitem"]:
                return Response("Unsupported media type", status=415)
            return self._serve(request, LINEITEM, service.handle_create_lineitem, MEDIA["lineitem"])
        return self._serve(request, LINEITEM_READONLY, lambda: self._lineitem_page(request, service),
                           MEDIA["lineitems"])

    def _lineitem_page(self, request: Request, service: _Ags):
        response = service.handle_get_lineitems()
        page = response.result
        if page and page.get("has_next"):
            query = {**dict(parse_qsl(request.query_string.decode())),
                     "page": str(int(request.args.get("page", 1)) + 1)}
            page["next"] = f"{self.url}{request.path}?{urlencode(query)}"
        return response

    def _serve(self, request: Request, scope: str, handler: Callable[[], Any], accept: str | None = None) -> Response:
        """Bearer token issued here, not revoked, with the scope this call needs; the Accept header right."""
        auth = request.headers.get("Authorization", "").split()
        token = auth[1] if len(auth) == 2 and auth[0].lower() == "bearer" else ""
        try:
            claims = jwt.decode(token, self.public_key, algorithms=["RS256"])
            valid = token not in self.revoked and self.conf.validate_token(token)
        except (jwt.PyJWTError, LtiException):
            valid = False
        if not valid:
            return Response("Invalid access token", status=401)
        granted = set(claims.get("scopes", "").split())
        if scope not in granted and not (scope == LINEITEM_READONLY and LINEITEM in granted):
            return Response("Insufficient scope", status=403)
        if accept and request.method == "GET" and accept not in request.headers.get("Accept", ""):
            return Response("Not acceptable", status=406)
        result = handler()
        if result.code >= 400:
            return Response(result.message, status=result.code)
        headers = {}
        payload = result.result
        if isinstance(payload, dict) and "content" in payload:  # a page: the items, with a Link to the next
            if payload.get("next"):
                headers["Link"] = f'<{payload["next"]}>; rel="next"'
            payload = payload["content"]
        elif isinstance(payload, dict) and "members" in payload and payload.get("next"):
            next_url = payload.pop("next")
            headers["Link"] = f'<{self.stuck_next_url or next_url}>; rel="next"'
        if payload is None:
            return Response(status=result.code, headers=headers)
        return Response(json.dumps(payload), status=result.code, headers=headers,
                        content_type=accept or "application/json")

    def _token(self, request: Request) -> Response:
        form = dict(request.form)
        try:
            claims = jwt.decode(form.get("client_assertion", ""), options={"verify_signature": False})
            issued = self.conf.get_access_token(form)  # verifies the assertion's signature with the tool's keys
        except (jwt.PyJWTError, LtiException, KeyError, ValueError) as error:
            return Response(json.dumps({"error": "invalid_client", "detail": str(error)}), status=401,
                            content_type="application/json")
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id \
                or claims.get("aud") != self.token_url:
            return Response(json.dumps({"error": "invalid_client"}), status=401, content_type="application/json")
        # lti1p3platform's token has no jti, so two issued in one second are identical; a revoked token must not
        # come back as the "new" one.
        registration = self.conf.get_registration()
        token = registration.platform_encode_and_sign(
            {"sub": self.client_id, "iss": self.issuer, "scopes": issued["scope"], "jti": secrets.token_hex(8)},
            expiration=self.token_lifetime)
        issued = dict(issued, access_token=token, expires_in=self.token_lifetime)
        with self.lock:
            self.issued.append({**issued, "requested_scope": form.get("scope", "")})
        return Response(json.dumps(issued), content_type="application/json")


def member(user_id: str, *, instructor: bool = False, status: str | None = None, **profile: Any) -> dict[str, Any]:
    roles = ["http://purl.imsglobal.org/vocab/lis/v2/membership#" + ("Instructor" if instructor else "Learner")]
    data = {"user_id": user_id, "roles": roles, **profile}
    if status:
        data["status"] = status
    return data


def generated_roster(count: int, prefix: str = "member") -> Callable[[int, int], tuple[int, list[dict[str, Any]]]]:
    """`count` learners served page by page, each with a name and an email."""
    def page(start: int, size: int) -> tuple[int, list[dict[str, Any]]]:
        return count, [member(f"{prefix}-{i}", given_name="Student", family_name=f"Number {i}",
                              email=f"{prefix}{i}@school.example.org") for i in range(start, min(start + size, count))]
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the test platform until interrupted.")
    parser.add_argument("--jwks", required=True, help="file with the tool's public JWKS")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", default="courseport-client")
    parser.add_argument("--members", type=int, default=0, help="size of the generated roster of context c1")
    parser.add_argument("--no-record", action="store_true", help="keep no request log (long benchmark runs)")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with open(args.jwks) as handle:
        platform = AgsPlatform(json.load(handle), client_id=args.client_id, port=args.port)
    platform.record = not args.no_record
    if args.members:
        platform.set_roster(generated_roster(args.members))
    platform.add_lineitem("c1", label="Benchmark", scoreMaximum=100, resourceLinkId="rl-1")
    print(json.dumps({"url": platform.url}), flush=True)
    try:
        platform._server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
