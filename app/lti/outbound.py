"""Every request Courseport sends to a platform: TLS verified, bounded time and size, honest User-Agent.

Redirects are followed by hand so an Authorization header never travels to another host.

A plain request (a body of bytes or text, or none) to a host reached without a proxy goes straight to the
`requests` session's own urllib3 connection pool for that host, with the headers, TLS settings and retry policy
the session would use and its errors raised as the same `requests` exceptions: `Session.request` spends about
a millisecond of CPU per call preparing the request and re-reading the proxy and CA settings from the
environment, as much as the HTTP exchange itself, which a run of ten thousand scores would pay ten thousand
times. The environment is read once per host instead (per process). Anything else (form or JSON bodies, query
parameters, a proxied host) goes through `Session.request`.
"""
from __future__ import annotations

import http.client
import ssl
import threading
from typing import Any, Callable, Iterable
from urllib.parse import urljoin, urlsplit

import requests
from requests import exceptions as rex
from requests.structures import CaseInsensitiveDict
from requests.utils import select_proxy
from urllib3 import exceptions as u3
from urllib3.util import parse_url

from app.config import VERSION

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
    def __init__(self, status: int, headers: requests.structures.CaseInsensitiveDict, body: bytes, url: str):
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
        import json

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


class _Direct:
    """How the session reaches one host without a proxy: its pool's key and the TLS settings it would use."""

    def __init__(self, adapter: requests.adapters.HTTPAdapter, host_params: dict[str, Any],
                 pool_kwargs: dict[str, Any], verify: Any) -> None:
        self.adapter, self.host_params, self.pool_kwargs, self.verify = adapter, host_params, pool_kwargs, verify

    def pool(self, url: str) -> Any:
        # Looked up each time, not kept: the pool manager may evict and close a host's pool.
        pool = self.adapter.poolmanager.connection_from_host(**self.host_params, pool_kwargs=self.pool_kwargs)
        self.adapter.cert_verify(pool, url, self.verify, None)
        return pool


_direct: dict[tuple[str, str], _Direct | None] = {}
_direct_lock = threading.Lock()


def _direct_route(url: str) -> _Direct | None:
    """The host's direct route, worked out once per process; None when a proxy or a client certificate from
    the environment applies (those requests go through Session.request)."""
    parts = urlsplit(url)
    key = (parts.scheme.lower(), parts.netloc.lower())
    if key in _direct:
        return _direct[key]
    route = None
    try:
        if key[0] in ("http", "https") and parts.hostname:
            http = session()
            settings = http.merge_environment_settings(url, {}, None, None, None)
            if not select_proxy(url, settings["proxies"]) and settings["cert"] is None:
                adapter = http.get_adapter(url)
                prepared = requests.Request("GET", url).prepare()
                host_params, pool_kwargs = adapter.build_connection_pool_key_attributes(
                    prepared, settings["verify"], None)
                route = _Direct(adapter, host_params, pool_kwargs, settings["verify"])
    except (ValueError, rex.RequestException):
        return None  # a URL requests would refuse: Session.request raises its error as before
    with _direct_lock:
        _direct[key] = route
    return route


class _Started:
    """A request written to one of the host's pooled connections, its answer read by `finish()` (once), so the
    caller can do other work while the platform answers. Failures are raised by `finish()` as the `requests`
    exceptions HTTPAdapter.send and Response.iter_content raise for them; the connection always goes back to the
    pool (closed if it cannot be reused)."""

    def __init__(self, route: _Direct, method: str, url: str, headers: dict[str, str], body: bytes | None,
                 timeout: tuple[float, float]) -> None:
        self.url, self.read_timeout = url, timeout[1]
        self.error: BaseException | None = None
        self.pool = self.conn = None
        sent = CaseInsensitiveDict(session().headers)
        sent.update(headers)
        try:
            self.pool = route.pool(url)
            self.conn = self.pool._get_conn()
            self.conn.timeout = timeout[0]
            self.conn.request(method, parse_url(url).request_uri, body=body, headers=dict(sent.items()),
                              preload_content=False, decode_content=True)
        except (BrokenPipeError, ConnectionResetError):
            pass  # as urllib3 does: the platform may have answered and closed; finish() reads what it said
        except Exception as error:  # noqa: BLE001 - raised (mapped) by finish()
            self.error = error

    def finish(self) -> Response:
        conn = self.conn
        try:
            if self.error is not None:
                raise self.error
            if not conn.is_closed:
                conn.timeout = self.read_timeout
            raw = conn.getresponse()
            body = _capped(raw.stream(64 * 1024, decode_content=True))
            return Response(raw.status, CaseInsensitiveDict(raw.headers), body, self.url)
        except BaseException as error:
            if conn is not None:
                conn.close()
            raise _as_requests_error(error) from None
        finally:
            if self.pool is not None:
                self.pool._put_conn(conn)


def _as_requests_error(error: BaseException) -> BaseException:
    if isinstance(error, (OutboundError, rex.RequestException)) or not isinstance(error, Exception):
        return error
    if isinstance(error, (u3.SSLError, ssl.SSLError, ssl.CertificateError)):
        return rex.SSLError(error)
    if isinstance(error, u3.NewConnectionError):
        return rex.ConnectionError(error)
    if isinstance(error, u3.ConnectTimeoutError):
        return rex.ConnectTimeout(error)
    if isinstance(error, (u3.ReadTimeoutError, TimeoutError)):
        return rex.ReadTimeout(error)
    if isinstance(error, u3.DecodeError):
        return rex.ContentDecodingError(error)
    if isinstance(error, (u3.ProtocolError, http.client.IncompleteRead)):
        return rex.ChunkedEncodingError(error)
    if isinstance(error, u3.LocationValueError):
        return rex.InvalidURL(error)
    if isinstance(error, (OSError, http.client.HTTPException, u3.HTTPError)):
        return rex.ConnectionError(error)
    return error


class Pending:
    """A request already sent, whose answer `response()` reads (once): what `request()` would have returned,
    or raised. Requests that cannot take the direct route are made whole by `response()`."""

    def __init__(self, method: str, url: str, headers: dict[str, str] | None, data: bytes | str | None,
                 timeout: tuple[float, float]) -> None:
        self.method, self.url, self.headers, self.data, self.timeout = method, url, headers or {}, data, timeout
        route = _direct_route(url)
        self._started = None if route is None else _Started(
            route, method, url, {"User-Agent": USER_AGENT, **self.headers},
            data.encode("utf-8") if isinstance(data, str) else data, timeout)

    def response(self) -> Response:
        started, self._started = self._started, None
        return request(self.method, self.url, headers=self.headers, data=self.data, timeout=self.timeout,
                       _first=started.finish if started is not None else None)


def begin(method: str, url: str, *, headers: dict[str, str] | None = None, data: bytes | str | None = None,
          timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)) -> Pending:
    """Send a request now and read its answer later (`Pending.response()`), so the platform works on it while
    the caller does something else; one thread, no locks. Same checks and limits as `request()`."""
    return Pending(method, url, headers, data, timeout)


def request(method: str, url: str, *, headers: dict[str, str] | None = None, data: Any = None,
            json_body: Any = None, params: dict[str, str] | None = None,
            timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
            same_host_redirects_only: bool = False, _first: Callable[[], Response] | None = None) -> Response:
    """`same_host_redirects_only` refuses a redirect to another host instead of following it without
    credentials (dynamic registration: the platform's configuration must come from the platform itself).
    `_first`: the first answer was already asked for (`begin`); this reads it."""
    headers = {"User-Agent": USER_AGENT, **(headers or {})}
    origin_host = urlsplit(url).netloc
    for _ in range(MAX_REDIRECTS + 1):
        try:
            response = _first() if _first is not None else _exchange(method, url, headers, data, json_body, params,
                                                                     timeout)
            _first = None
        except requests.exceptions.Timeout:
            raise OutboundError(f"the request to {url} timed out") from None
        except requests.exceptions.SSLError:
            raise OutboundError(f"the TLS certificate of {urlsplit(url).netloc} could not be verified") from None
        except requests.exceptions.RequestException as error:
            raise OutboundError(f"could not connect to {urlsplit(url).netloc} ({type(error).__name__})") from None
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


def _exchange(method: str, url: str, headers: dict[str, str], data: Any, json_body: Any,
              params: dict[str, str] | None, timeout: tuple[float, float]) -> Response:
    plain = json_body is None and params is None and (data is None or isinstance(data, (bytes, str)))
    route = _direct_route(url) if plain else None
    if route is not None:
        return _Started(route, method, url, headers, data.encode("utf-8") if isinstance(data, str) else data,
                        timeout).finish()
    raw = session().request(method, url, headers=headers, data=data, json=json_body, params=params,
                            timeout=timeout, allow_redirects=False, stream=True)
    try:
        body = _capped(raw.iter_content(64 * 1024))
    except OutboundError:
        raw.close()
        raise
    return Response(raw.status_code, raw.headers, body, raw.url)


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
