"""Which sites may frame Courseport's launched pages: the platforms' origins, the origins learned
from launches (LTI 1.3 and legacy consumers' return URLs), and the admin's extra origins; nothing but 'self'
when frame embedding is off."""
from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import urlsplit

from app.models.platforms import STATUS_ACTIVE
from app.models.queries.platforms import ORIGINS as _ORIGINS
from app.services.platforms.settings import normalise_origin


def origin_of(url: str | None) -> str | None:
    """`scheme://host[:port]` of an http(s) URL, or None; only well-formed origins may enter the CSP header."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return normalise_origin(f"{parts.scheme}://{parts.netloc}")


def _unique(origins: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(origin for origin in origins if origin))


def frame_ancestors(settings: dict[str, Any], *, launch_page: bool = False) -> list[str]:
    """Origins allowed to frame launched pages, besides 'self'. `settings` are the LTI settings.

    `launch_page`: a page answering the launch itself (an error, the cookie notice, "Open tool"). The platform
    shows it in its frame whatever the embedding setting, so it stays frameable by the platforms; with embedding
    off, only the content a launch leads to is refused to frames."""
    if not settings["allow_frame_embedding"] and not launch_page:
        return []
    origins: list[str | None] = []
    for issuer, auth_url, learned in _ORIGINS.all(active=STATUS_ACTIVE):
        origins += [origin_of(issuer), origin_of(auth_url), *(origin_of(item) for item in learned or [])]
    return _unique([*origins, *(settings.get("additional_frame_ancestors") or [])])
