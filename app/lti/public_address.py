"""Where a URL that arrived in a request (rather than one a site admin typed) may lead: only to public addresses.

A platform or consumer names URLs we then call (an LTI 2 tool consumer profile, outcome, roster and grade
services, a dynamic registration's configuration). Followed blindly, such a URL would let anyone make the server
send requests to its own loopback, link-local or private network. Every address the host name resolves to must
be public, unless the site allows private addresses (`ALLOW_PRIVATE_ADDRESSES`, for a platform on the same
private network). Resolutions are remembered for a minute per process, so a run of ten thousand scores does not
resolve ten thousand times.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
import time
from urllib.parse import urlsplit

from flask import current_app, has_app_context

REMEMBER_SECONDS = 60.0
_resolved: dict[tuple[str, int], tuple[float, bool]] = {}
_lock = threading.Lock()


class NotPublic(Exception):
    """The URL's host is not a public address, or could not be resolved."""


def required() -> bool:
    """Whether URLs from requests must be public here: read from the app's settings, so a caller that hands work
    to a thread without the app (a roster read ahead) decides it first and passes the answer on."""
    return not (has_app_context() and current_app.config.get("ALLOW_PRIVATE_ADDRESSES"))


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _public_host(host: str, port: int) -> bool:
    now = time.monotonic()
    with _lock:
        known = _resolved.get((host, port))
    if known is not None and known[0] > now:
        return known[1]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        public = bool(infos) and all(_is_public(str(info[4][0])) for info in infos)
    except (OSError, UnicodeError, ValueError):
        public = False
    with _lock:
        _resolved[(host, port)] = (now + REMEMBER_SECONDS, public)
    return public


def check(url: str) -> None:
    """Raise NotPublic unless every address of the URL's host is public."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise NotPublic(url) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not _public_host(parts.hostname, port):
        raise NotPublic(url)
