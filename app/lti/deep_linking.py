"""Deep Linking 2.0, tool side: what the platform's request allows, the content items we return and
the signed LtiDeepLinkingResponse.

Built on pylti1p3's DeepLink and DeepLinkResource, which sign with our current key (kid in the header) but
leave out what a deep-linking response requires: `azp`, `aud` as the issuer itself, `text`, the presentation target, `msg`,
and `data` only when the request had it. The subclasses below add exactly that.
"""
from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Sequence
from urllib.parse import urlsplit

from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem
from pylti1p3.registration import Registration

from app.lti.errors import launch_error
from app.lti.launch_data import DEPLOYMENT_ID, MESSAGE_TYPE, VERSION, LaunchData
from app.lti.tool_config import ToolRegistration
from app.models import PlatformRegistration

DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
CONTENT_ITEMS = DL_CLAIM + "content_items"
DATA = DL_CLAIM + "data"
MSG = DL_CLAIM + "msg"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
RESPONSE_LIFETIME = 600
TEXT_LIMIT = 1000
LINE_ITEM_TAG = "grade"
PREFERRED_TARGETS = ("iframe", "window")
_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")


def _flag(value: Any, default: bool) -> bool:
    """Platforms send booleans, and some send "true"/"false" strings (pylti1p3's TDeepLinkData allows both)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return default


def _origin(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL. The origin goes into the page's CSP header, so a host with any
    other character (space, semicolon, credentials) is no origin at all."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not _HOST.fullmatch(parts.netloc):
        return None
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class DeepLinkSettings:
    """The request's `deep_linking_settings`, already checked by launch validation."""

    return_url: str
    return_origin: str
    document_targets: tuple[str, ...]
    accept_multiple: bool
    accept_lineitem: bool
    has_data: bool
    data: Any = None

    @classmethod
    def from_launch(cls, launch: LaunchData) -> "DeepLinkSettings":
        """Raises the "Missing Deep Linking Return URL" LtiError when the return URL is not an http(s) URL: the
        response page posts a form there, and a `javascript:` or relative URL must never become its action."""
        settings = launch.deep_linking_settings or {}
        return_url = settings.get("deep_link_return_url")
        origin = _origin(return_url) if isinstance(return_url, str) else None
        if origin is None:
            raise launch_error("dl_return_url_missing")
        targets = settings.get("accept_presentation_document_targets")
        return cls(return_url=return_url, return_origin=origin,
                   document_targets=tuple(item for item in targets if isinstance(item, str))
                   if isinstance(targets, list) else (),
                   accept_multiple=_flag(settings.get("accept_multiple"), True),
                   accept_lineitem=_flag(settings.get("accept_lineitem"), True),
                   has_data="data" in settings, data=settings.get("data"))

    @property
    def document_target(self) -> str:
        """`iframe` when accepted, else `window` when accepted, else the first accepted target."""
        for target in PREFERRED_TARGETS:
            if target in self.document_targets:
                return target
        return self.document_targets[0] if self.document_targets else PREFERRED_TARGETS[0]


@dataclass(frozen=True)
class ContentItem:
    """One published resource to place in the platform. `score_maximum` is set when the teacher asked for a
    gradebook column and the resource is graded."""

    uuid: str
    title: str
    text: str
    score_maximum: Decimal | None = None


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class ResourceLinkItem(DeepLinkResource):
    """An `ltiResourceLink` content item with the plain-text description and presentation target."""

    def __init__(self, text: str, document_target: str) -> None:
        super().__init__()
        self._text = text
        self._document_target = document_target

    def to_dict(self) -> dict[str, object]:
        item = super().to_dict()
        item["text"] = self._text
        item["presentation"] = {"documentTarget": self._document_target}
        return item


class DeepLinkResponse(DeepLink):
    """pylti1p3's DeepLink with the response claims we require; signing (RS256, current key's kid) stays the library's."""

    def __init__(self, registration: Registration, launch: LaunchData, settings: DeepLinkSettings) -> None:
        super().__init__(registration, launch.deployment_id, launch.deep_linking_settings or {})
        self._launch = launch
        self._settings = settings

    def get_message_jwt(self, resources: Sequence[DeepLinkResource]) -> dict[str, object]:
        now = int(time.time())
        client_id = self._launch.client_id
        message: dict[str, object] = {
            "iss": client_id,
            "aud": self._launch.issuer,
            "azp": client_id,
            "iat": now,
            "exp": now + RESPONSE_LIFETIME,
            "nonce": secrets.token_urlsafe(24),
            DEPLOYMENT_ID: self._deployment_id,
            MESSAGE_TYPE: DEEP_LINKING_RESPONSE,
            VERSION: "1.3.0",
            CONTENT_ITEMS: [resource.to_dict() for resource in resources],
        }
        if self._settings.has_data:
            message[DATA] = self._settings.data
        if resources:
            message[MSG] = f"{len(resources)} item(s) added."
        return message


def resource_link(item: ContentItem, settings: DeepLinkSettings, launch_url: str) -> ResourceLinkItem:
    """The content item for one resource; a line item only when the platform accepts them."""
    resource = ResourceLinkItem(item.text[:TEXT_LIMIT], settings.document_target)
    resource.set_title(item.title).set_url(launch_url).set_custom_params({"id": item.uuid})
    if item.score_maximum is not None and settings.accept_lineitem:
        resource.set_lineitem(LineItem().set_score_maximum(_number(item.score_maximum)).set_label(item.title)
                              .set_resource_id(item.uuid).set_tag(LINE_ITEM_TAG))
    return resource


def response_jwt(launch: LaunchData, registration: PlatformRegistration, settings: DeepLinkSettings,
                 items: Sequence[ContentItem], *, base_url: str) -> str:
    """The signed LtiDeepLinkingResponse for these items (none: the teacher cancelled)."""
    resources = [resource_link(item, settings, f"{base_url}/lti/launch") for item in items]
    return DeepLinkResponse(ToolRegistration(registration), launch, settings).get_response_jwt(resources)
