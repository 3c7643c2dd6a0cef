"""Which sites may frame Courseport's launched pages: the launching platform's origins and the origins its
launches taught (LTI 1.3 registrations' and legacy consumers' return URLs, each kept with the registration or
consumer that sent it), and the admin's extra origins; nothing but 'self' when frame embedding is off."""
from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import urlsplit

from app.lti.launch_data import LaunchData
from app.lti.tool_config import found_registration
from app.models.platforms import STATUS_ACTIVE
from app.models.queries.platforms import CONFIGURED_ORIGINS, CONSUMER_ORIGINS, REGISTRATION_ORIGINS
from app.services.platforms.settings import normalise_origin

# Each registration or consumer remembers this many learned origins (the latest), so the header stays bounded.
MAX_LEARNED_ORIGINS = 10


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


def learn_origin(known: list[str] | None, url: str | None) -> list[str] | None:
    """The learned origins once `url`'s origin is added (the oldest dropped past the bound); None when unchanged."""
    learned = origin_of(url)
    known = list(known or [])
    if not learned or learned in known:
        return None
    return [*known, learned][-MAX_LEARNED_ORIGINS:]


def _rows(launch: LaunchData | None) -> list[Any]:
    # Every page of a launched session is framed by these: one statement each (app/models/queries/platforms.py).
    if launch is None:
        return CONFIGURED_ORIGINS.all(active=STATUS_ACTIVE)
    if launch.is_legacy:
        return CONSUMER_ORIGINS.all(resource=launch.resource_id, key=(launch.legacy or {}).get("consumer_key"))
    found = found_registration(launch.registration_id)  # the launch POST's own validation read it
    if found is not None:
        return [(found.issuer, found.auth_request_url, found.frame_origins)]
    return REGISTRATION_ORIGINS.all(id=launch.registration_id, active=STATUS_ACTIVE)


def frame_ancestors(settings: dict[str, Any], launch: LaunchData | None = None, *,
                    launch_page: bool = False) -> list[str]:
    """Origins allowed to frame launched pages, besides 'self'. `settings` are the LTI settings.

    `launch`: the launch whose pages these are. Only its own registration (LTI 1.3) or consumer (LTI 1.1) and what
    its launches taught may frame them, so one platform's return URL never widens framing for another's
    sessions. Without a launch, only the registrations' configured origins.
    `launch_page`: a page answering the launch itself (an error, the cookie notice, "Open tool"). The platform
    shows it in its frame whatever the embedding setting, so it stays frameable by the platforms; with embedding
    off, only the content a launch leads to is refused to frames."""
    if not settings["allow_frame_embedding"] and not launch_page:
        return []
    origins: list[str | None] = []
    for issuer, auth_url, learned in _rows(launch):
        origins += [origin_of(issuer), origin_of(auth_url), *(origin_of(item) for item in learned or [])]
    return _unique([*origins, *(settings.get("additional_frame_ancestors") or [])])
