"""Whether COURSEPORT_BASE_URL, from which every URL given to an LMS is built, can work with a real LMS."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.lti.registration import base_url


@dataclass(frozen=True)
class SiteAddress:
    url: str
    loopback: bool
    https: bool

    @property
    def usable(self) -> bool:
        """An LMS elsewhere can reach it, and LTI 1.3 platforms accept it."""
        return self.https and not self.loopback


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def site_address(url: str | None = None) -> SiteAddress:
    """The configured base URL (or `url`) judged as an LMS would see it."""
    url = url if url is not None else base_url()
    parts = urlsplit(url)
    return SiteAddress(url=url, loopback=_is_loopback((parts.hostname or "").lower()), https=parts.scheme == "https")
