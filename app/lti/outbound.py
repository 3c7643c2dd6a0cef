"""Every request Courseport sends to a platform: TLS verified, bounded time and size, honest User-Agent.

Redirects are followed by hand so an Authorization header never travels to another host.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

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


def request(method: str, url: str, *, headers: dict[str, str] | None = None, data: Any = None,
            json_body: Any = None, params: dict[str, str] | None = None,
            timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
            same_host_redirects_only: bool = False) -> Response:
    """`same_host_redirects_only` refuses a redirect to another host instead of following it without
    credentials (dynamic registration: the platform's configuration must come from the platform itself)."""
    headers = {"User-Agent": USER_AGENT, **(headers or {})}
    origin_host = urlsplit(url).netloc
    for _ in range(MAX_REDIRECTS + 1):
        try:
            raw = session().request(method, url, headers=headers, data=data, json=json_body, params=params,
                                    timeout=timeout, allow_redirects=False, stream=True)
            body = _read_capped(raw)
        except requests.exceptions.Timeout:
            raise OutboundError(f"the request to {url} timed out") from None
        except requests.exceptions.SSLError:
            raise OutboundError(f"the TLS certificate of {urlsplit(url).netloc} could not be verified") from None
        except requests.exceptions.RequestException as error:
            raise OutboundError(f"could not connect to {urlsplit(url).netloc} ({type(error).__name__})") from None
        if raw.is_redirect and raw.headers.get("Location"):
            url = urljoin(url, raw.headers["Location"])
            params = None
            if urlsplit(url).netloc != origin_host:
                if same_host_redirects_only:
                    raise OutboundError(f"{origin_host} redirected to another host ({urlsplit(url).netloc})")
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            if raw.status_code in (301, 302, 303) and method != "GET":
                method, data, json_body = "GET", None, None
            continue
        return Response(raw.status_code, raw.headers, body, raw.url)
    raise OutboundError(f"too many redirects from {url}")


def _read_capped(raw: requests.Response) -> bytes:
    chunks, size = [], 0
    for chunk in raw.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BYTES:
            raw.close()
            raise OutboundError("the response was larger than 5 MB")
        chunks.append(chunk)
    return b"".join(chunks)


def get(url: str, **kwargs: Any) -> Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> Response:
    return request("POST", url, **kwargs)
