"""LaunchData: the validated claims Courseport uses, as a plain dataclass that can be stored as JSON.

Never the id_token itself: only the identifiers, profile fields and service endpoints a launch needs later.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from app.limits import clip

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = CLAIM + "message_type"
VERSION = CLAIM + "version"
DEPLOYMENT_ID = CLAIM + "deployment_id"
TARGET_LINK_URI = CLAIM + "target_link_uri"
ROLES = CLAIM + "roles"
RESOURCE_LINK = CLAIM + "resource_link"
CONTEXT = CLAIM + "context"
CUSTOM = CLAIM + "custom"
LAUNCH_PRESENTATION = CLAIM + "launch_presentation"
LTI1P1 = CLAIM + "lti1p1"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"

URL_LIMIT = 2048  # characters in a stored service URL
TITLE_LIMIT = 1024  # a context or resource link title
LABEL_LIMIT = 255  # a context label

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"

AGS_SCOPES = frozenset({
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
})
_COURSE_VOCAB = "http://purl.imsglobal.org/vocab/lis/v2/course#"
CONTEXT_TYPES = frozenset(name for short in ("CourseTemplate", "CourseOffering", "CourseSection", "Group")
                          for name in (short, _COURSE_VOCAB + short))


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _title(value: Any, limit: int) -> str:
    """A display text, cut to what its column holds."""
    return clip(_text(value) or "", limit)


def _url(value: Any) -> str | None:
    """A service URL; one longer than any URL column holds is unusable, so it counts as absent."""
    url = _text(value)
    return url if url is not None and len(url) <= URL_LIMIT else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str_list(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


@dataclass
class LaunchData:
    launch_id: str
    registration_id: int | None  # None for a legacy (LTI 1.1) launch, which has no registration or deployment
    deployment_pk: int | None
    issuer: str
    client_id: str
    deployment_id: str
    message_type: str
    subject: str
    roles: list[str]
    cookie_method: str
    clock_skew: int
    given_name: str | None = None
    family_name: str | None = None
    name: str | None = None
    email: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] | None = None  # id, types (known ones only), title, label
    resource_link: dict[str, Any] | None = None  # id, title
    ags: dict[str, Any] | None = None  # lineitems, lineitem, scopes (the four AGS scopes only)
    nrps: dict[str, Any] | None = None  # context_memberships_url, service_versions
    return_url: str | None = None
    target_link_uri: str | None = None
    deep_linking_settings: dict[str, Any] | None = None
    lti1p1: dict[str, Any] | None = None  # a proven migration claim: oauth_consumer_key, user_id, scope
    # Which credential proved the subject (app/lti/identity.py); accounts are looked up and bound only within it.
    identity_scope: str | None = None
    storage_target: str | None = None
    # Kept with a stored launch (app.lti.launch.store_launch), so a resumed launch continues its launch-log row and
    # knows the provisioning mode its Welcome page asks in.
    prompt_mode: int | None = None
    log_id: int | None = None
    # LTI 1.1 launches only: the resource the launch URL names; consumer key, LTI version, outcome and memberships
    # services.
    resource_id: int | None = None
    legacy: dict[str, Any] | None = None

    @classmethod
    def from_claims(cls, claims: dict[str, Any], *, launch_id: str, registration_id: int, deployment_pk: int,
                    client_id: str, cookie_method: str, storage_target: str | None,
                    clock_skew: int) -> "LaunchData":
        context = _dict(claims.get(CONTEXT))
        link = _dict(claims.get(RESOURCE_LINK))
        ags = _dict(claims.get(AGS))
        nrps = _dict(claims.get(NRPS))
        return cls(
            launch_id=launch_id, registration_id=registration_id, deployment_pk=deployment_pk,
            issuer=claims["iss"], client_id=client_id, deployment_id=claims[DEPLOYMENT_ID],
            message_type=claims[MESSAGE_TYPE], subject=str(claims["sub"]), roles=_str_list(claims.get(ROLES)),
            cookie_method=cookie_method, clock_skew=clock_skew, storage_target=storage_target,
            given_name=_text(claims.get("given_name")), family_name=_text(claims.get("family_name")),
            name=_text(claims.get("name")), email=_text(claims.get("email")),
            custom={str(key): value for key, value in _dict(claims.get(CUSTOM)).items()},
            context={"id": str(context["id"]), "title": _title(context.get("title"), TITLE_LIMIT),
                     "label": _title(context.get("label"), LABEL_LIMIT),
                     "types": [kind for kind in _str_list(context.get("type")) if kind in CONTEXT_TYPES]}
            if context.get("id") else None,
            resource_link={"id": str(link["id"]), "title": _title(link.get("title"), TITLE_LIMIT)}
            if link.get("id") else None,
            ags={"lineitems": _url(ags.get("lineitems")), "lineitem": _url(ags.get("lineitem")),
                 "scopes": [scope for scope in _str_list(ags.get("scope")) if scope in AGS_SCOPES]}
            if ags else None,
            nrps={"context_memberships_url": _url(nrps.get("context_memberships_url")),
                  "service_versions": _str_list(nrps.get("service_versions"))}
            if _url(nrps.get("context_memberships_url")) else None,
            return_url=_url(_dict(claims.get(LAUNCH_PRESENTATION)).get("return_url")),
            target_link_uri=_url(claims.get(TARGET_LINK_URI)),
            deep_linking_settings=_dict(claims.get(DEEP_LINKING_SETTINGS)) or None,
        )

    @property
    def custom_id(self) -> str | None:
        return _text(str(self.custom["id"])) if self.custom.get("id") is not None else None

    @property
    def force_embed(self) -> bool:
        return str(self.custom.get("force_embed", "")).strip().lower() in ("1", "true", "yes")

    @property
    def context_title(self) -> str | None:
        return self.context["title"] if self.context else None

    @property
    def resource_link_id(self) -> str | None:
        return self.resource_link["id"] if self.resource_link else None

    @property
    def is_legacy(self) -> bool:
        return self.legacy is not None

    @property
    def is_deep_link(self) -> bool:
        return self.message_type == DEEP_LINKING_REQUEST

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> "LaunchData":
        names = {item.name for item in fields(cls)}
        return cls(**{key: item for key, item in value.items() if key in names})
