"""Every request Courseport sends to a platform: TLS verified, bounded time and size, honest User-Agent.

Redirects are followed by hand so an Authorization header never travels to another host.

`request()` goes through one pooled `requests` session. `begin()` is for bulk score posting only: it writes a
request on a kept-alive connection of its own and reads the answer later, so the worker records the previous
score while the platform answers this one. `Session.request` spends about a millisecond of CPU per call
preparing the request and re-reading the proxy and CA settings from the environment, which ten thousand scores
would pay ten thousand times (`bench/grades.py` measures the difference). Hosts behind a proxy, or with a client
certificate from the environment, take the `requests` path there too.
"""
from __future__ import annotations

import atexit
import http.client
import json
import os
import ssl
import threading
from typing import Any, Iterable
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from requests.utils import select_proxy
from urllib3 import exceptions as u3
from urllib3.connection import HTTPConnection, HTTPSConnection

from app.config import VERSION
from app.lti import public_address

CONNECT_TIMEOUT = 10
READ_TIMEOUT = 30
MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
USER_AGENT = f"Courseport/{VERSION}"


class OutboundError(Exception):
    """The request could not be completed (network, timeout, oversize). `reason` is for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Response:
    def __init__(self, status: int, headers: CaseInsensitiveDict, body: bytes, url: str):
        self.status_code = status
        self.headers = headers
        self.content = body
        self.url = url

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        return json.loads(self.content)


_session: requests.Session | None = None


def session() -> requests.Session:
    """One pooled session per process: keep-alive connections to each platform are reused."""
    global _session
    if _session is None:
        _session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=20, pool_maxsize=20)
        _session.mount("https://", adapter)
        _session.mount("http://", adapter)
    return _session


def request(method: str, url: str, *, headers: dict[str, str] | None = None, data: Any = None,
            json_body: Any = None, params: dict[str, str] | None = None,
            timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
            same_host_redirects_only: bool = False, public_only: bool = False,
            _first: Response | None = None) -> Response:
    """`same_host_redirects_only` refuses a redirect to another host instead of following it without
    credentials (dynamic registration: the platform's configuration must come from the platform itself).
    `public_only`: the URL arrived in a request, so it and every redirect must lead to a public address
    (app/lti/public_address.py; callers pass `public_address.required()`). `_first`: the answer to the first request, already read (`begin`)."""
    headers = {"User-Agent": USER_AGENT, **(headers or {})}
    origin_host = urlsplit(url).netloc
    for _ in range(MAX_REDIRECTS + 1):
        if _first is None and public_only:
            _check_public(url)
        response = _first if _first is not None else _exchange(method, url, headers, data, json_body, params,
                                                               timeout)
        _first = None
        if response.status_code in requests.sessions.REDIRECT_STATI and response.headers.get("Location"):
            url = urljoin(url, response.headers["Location"])
            params = None
            if urlsplit(url).netloc != origin_host:
                if same_host_redirects_only:
                    raise OutboundError(f"{origin_host} redirected to another host ({urlsplit(url).netloc})")
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            if response.status_code in (301, 302, 303) and method != "GET":
                method, data, json_body = "GET", None, None
            continue
        return response
    raise OutboundError(f"too many redirects from {url}")


def _check_public(url: str) -> None:
    try:
        public_address.check(url)
    except public_address.NotPublic:
        raise OutboundError(f"{urlsplit(url).hostname or url} is not a public address") from None


def _exchange(method: str, url: str, headers: dict[str, str], data: Any, json_body: Any,
              params: dict[str, str] | None, timeout: tuple[float, float]) -> Response:
    try:
        raw = session().request(method, url, headers=headers, data=data, json=json_body, params=params,
                                timeout=timeout, allow_redirects=False, stream=True)
        with raw:
            body = _capped(raw.iter_content(64 * 1024))
    except requests.exceptions.Timeout:
        raise OutboundError(f"the request to {url} timed out") from None
    except requests.exceptions.SSLError:
        raise OutboundError(_tls_failure(url)) from None
    except requests.exceptions.RequestException as error:
        raise OutboundError(_connect_failure(url, error)) from None
    return Response(raw.status_code, raw.headers, body, raw.url)


def _tls_failure(url: str) -> str:
    return f"the TLS certificate of {urlsplit(url).netloc} could not be verified"


def _connect_failure(url: str, error: BaseException) -> str:
    return f"could not connect to {urlsplit(url).netloc} ({type(error).__name__})"


def _capped(chunks: Iterable[bytes]) -> bytes:
    """A response body read to its end, refused once it passes MAX_BYTES."""
    read, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_BYTES:
            raise OutboundError("the response was larger than 5 MB")
        read.append(chunk)
    return b"".join(read)


def get(url: str, **kwargs: Any) -> Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> Response:
    return request("POST", url, **kwargs)


# Bulk score posting --------------------------------------------------------------------------------------------

_idle: dict[tuple[str, str, int], list[HTTPConnection]] = {}
_idle_lock = threading.Lock()
IDLE_PER_HOST = 2


@atexit.register
def close_idle() -> None:
    """Close every kept-alive bulk connection (at exit, and when a caller wants a clean slate)."""
    with _idle_lock:
        connections = [conn for idle in _idle.values() for conn in idle]
        _idle.clear()
    for conn in connections:
        conn.close()


def _direct_connection(url: str, connect_timeout: float) -> HTTPConnection | None:
    """An idle kept-alive connection to the URL's host, or a new one with the TLS trust `requests` would use;
    None when a proxy or a client certificate from the environment applies."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    key = (parts.scheme, parts.hostname, port)
    with _idle_lock:
        idle = _idle.get(key, [])
        while idle:
            conn = idle.pop()
            if conn.is_connected:
                conn.timeout = connect_timeout
                return conn
            conn.close()  # the platform closed it while it was idle
    settings = session().merge_environment_settings(url, {}, None, None, None)
    if select_proxy(url, settings["proxies"]) or settings["cert"] is not None:
        return None
    if parts.scheme == "http":
        return HTTPConnection(parts.hostname, port, timeout=connect_timeout)
    verify = settings["verify"]
    trust = {"ca_certs": requests.certs.where()} if verify is True else \
        {"ca_cert_dir": verify} if os.path.isdir(verify) else {"ca_certs": verify}
    return HTTPSConnection(parts.hostname, port, timeout=connect_timeout, cert_reqs="CERT_REQUIRED", **trust)


def _release(url: str, conn: HTTPConnection) -> None:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    with _idle_lock:
        idle = _idle.setdefault((parts.scheme, parts.hostname or "", port), [])
        if len(idle) < IDLE_PER_HOST:
            idle.append(conn)
            return
    conn.close()


class Pending:
    """A request already written to a connection, whose answer `response()` reads (once): what `request()`
    would have returned, or raised. A redirect is followed by `request()` from there."""

    def __init__(self, method: str, url: str, headers: dict[str, str] | None, data: bytes | str | None,
                 timeout: tuple[float, float], public_only: bool) -> None:
        self.method, self.url, self.headers, self.data, self.timeout = method, url, headers or {}, data, timeout
        self.public_only = public_only
        self._error: BaseException | None = None
        self._conn = None
        if public_only:
            try:
                _check_public(url)
            except OutboundError as refused:
                self._error = refused  # raised by response(), where the caller expects failures
                return
        self._conn = _direct_connection(url, timeout[0])
        if self._conn is None:
            return
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = CaseInsensitiveDict(session().headers)
        sent.update({"User-Agent": USER_AGENT, **self.headers})
        try:
            self._conn.request(method, target, body=data.encode("utf-8") if isinstance(data, str) else data,
                               headers=dict(sent.items()), preload_content=False)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the platform may have answered and closed: the answer is read in response()
        except Exception as error:  # noqa: BLE001 - reported by response(), where the caller expects it
            self._error = error

    def response(self) -> Response:
        conn, self._conn = self._conn, None
        if isinstance(self._error, OutboundError):
            raise self._error
        if conn is None:
            return request(self.method, self.url, headers=self.headers, data=self.data, timeout=self.timeout,
                           public_only=self.public_only)
        try:
            if self._error is not None:
                raise self._error
            conn.timeout = self.timeout[1]
            raw = conn.getresponse()
            body = _capped(raw.stream(64 * 1024, decode_content=True))
            first = Response(raw.status, CaseInsensitiveDict(raw.headers), body, self.url)
        except OutboundError:
            conn.close()
            raise
        except (u3.SSLError, ssl.SSLError, ssl.CertificateError):
            conn.close()
            raise OutboundError(_tls_failure(self.url)) from None
        except (TimeoutError, u3.TimeoutError):
            conn.close()
            raise OutboundError(f"the request to {self.url} timed out") from None
        except (OSError, http.client.HTTPException, u3.HTTPError) as error:
            conn.close()
            raise OutboundError(_connect_failure(self.url, error)) from None
        _release(self.url, conn)
        return request(self.method, self.url, headers=self.headers, data=self.data, timeout=self.timeout,
                       public_only=self.public_only, _first=first)


def begin(method: str, url: str, *, headers: dict[str, str] | None = None, data: bytes | str | None = None,
          timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT), public_only: bool = False) -> Pending:
    """Send a request now and read its answer later (`Pending.response()`), so the platform works on it while
    the caller does something else; one thread, no locks held in between. Same limits as `request()`."""
    return Pending(method, url, headers, data, timeout, public_only)
