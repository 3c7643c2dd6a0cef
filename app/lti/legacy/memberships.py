"""Legacy rosters: the LTI 1.1 memberships extension and the LTI 2 memberships service, both
OAuth 1.0a signed with oauthlib. Members come back in the names NRPS uses (user_id, roles, given_name,
family_name, name, email, status) so one set of roster rules applies to every LTI version."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from typing import Any, Iterator
from urllib.parse import urlencode

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_AUTH_HEADER, SIGNATURE_TYPE_BODY, Client

from app.lti import outbound, public_address
from app.lti.legacy.tool_proxy import services_offered
from app.models.transactions import end_reads

READ_MESSAGE_TYPE = "basic-lis-readmembershipsforcontext"
MEMBERSHIPS_TYPE = "application/vnd.ims.lis.v2.membershipcontainer+json"
FORM = "application/x-www-form-urlencoded"
MAX_PAGES = 1000


class MembershipError(Exception):
    """The roster could not be read; `retryable` for network trouble and 408/429/5xx (retried like grades)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status in (408, 429) or self.status >= 500


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _send(method: str, url: str, **kwargs: Any) -> outbound.Response:
    end_reads(f"{method} {url}")
    try:
        response = outbound.request(method, url, public_only=public_address.required(), **kwargs)
    except outbound.OutboundError as error:
        raise MembershipError(error.reason) from None
    if not response.ok:
        raise MembershipError(f"HTTP {response.status_code}", response.status_code)
    return response


def parse_lti11_members(content: bytes) -> list[dict[str, Any]]:
    """`<member>` elements of a readMembershipsForContext response (any namespace)."""
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError:
        raise MembershipError("the memberships response was not XML") from None
    code = next((element.text or "" for element in root.iter() if _local(element.tag) == "codemajor"), "success")
    if code.strip().lower() != "success":
        raise MembershipError(f"the consumer answered {code.strip()}")
    members = []
    for element in root.iter():
        if _local(element.tag) != "member":
            continue
        values = {_local(child.tag): (child.text or "").strip() for child in element}
        if not values.get("user_id"):
            continue
        members.append({
            "user_id": values["user_id"],
            "roles": [role.strip() for role in values.get("roles", "").split(",") if role.strip()],
            "given_name": values.get("person_name_given") or None,
            "family_name": values.get("person_name_family") or None,
            "name": values.get("person_name_full") or None,
            "email": values.get("person_contact_email_primary") or None,
        })
    return members


def read_lti11_members(url: str, memberships_id: str, consumer_key: str, secret: str) -> list[dict[str, Any]]:
    """POST the signed basic-lis-readmembershipsforcontext form (the body carries the OAuth parameters)."""
    client = Client(consumer_key, client_secret=secret, signature_method=SIGNATURE_HMAC_SHA1,
                    signature_type=SIGNATURE_TYPE_BODY)
    params = {"lti_message_type": READ_MESSAGE_TYPE, "lti_version": "LTI-1p0", "id": memberships_id}
    _uri, headers, body = client.sign(url, http_method="POST", body=urlencode(params),
                                      headers={"Content-Type": FORM})
    return parse_lti11_members(_send("POST", url, data=body, headers=dict(headers)).content)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _lti2_page(body: Any) -> tuple[list[dict[str, Any]], str | None]:
    if not isinstance(body, dict):
        raise MembershipError("the memberships response was not a membership container")
    page = body.get("pageOf")
    subject = page.get("membershipSubject") if isinstance(page, dict) else None
    listed = subject.get("membership") if isinstance(subject, dict) else None
    members = []
    for membership in listed if isinstance(listed, list) else []:
        member = membership.get("member") if isinstance(membership, dict) else None
        if not isinstance(member, dict) or not member.get("userId"):
            continue
        status = str(membership.get("status") or "Active").rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        roles = membership.get("role") or []
        roles = [roles] if isinstance(roles, str) else [role for role in roles if isinstance(role, str)] \
            if isinstance(roles, list) else []
        members.append({"user_id": str(member["userId"]), "roles": roles,
                        "given_name": _text(member.get("givenName")), "family_name": _text(member.get("familyName")),
                        "name": _text(member.get("name")), "email": _text(member.get("email")), "status": status})
    next_page = body.get("nextPage")
    return members, next_page if isinstance(next_page, str) and next_page else None


def read_lti2_members(url: str, consumer_key: str, secret: str) -> Iterator[list[dict[str, Any]]]:
    """GET the LTI 2 membership container, a page at a time, following `nextPage` (signed in the header)."""
    seen: set[str] = set()
    next_url: str | None = url
    while next_url and next_url not in seen and len(seen) < MAX_PAGES:
        seen.add(next_url)
        client = Client(consumer_key, client_secret=secret, signature_method=SIGNATURE_HMAC_SHA1,
                        signature_type=SIGNATURE_TYPE_AUTH_HEADER)
        _uri, headers, _body = client.sign(next_url, http_method="GET")
        response = _send("GET", next_url, headers={**dict(headers), "Accept": MEMBERSHIPS_TYPE})
        try:
            members, next_url = _lti2_page(json.loads(response.content))
        except ValueError:
            raise MembershipError("the memberships response was not JSON") from None
        yield members


def lti2_memberships_url(profile: dict[str, Any] | None, context_id: str) -> str | None:
    """The profile's tcp:ToolProxyBindingMemberships template, filled for a CourseSection context."""
    for service in services_offered(profile):
        if str(service.get("@id", "")).endswith("ToolProxyBindingMemberships"):
            endpoint = str(service.get("endpoint") or "")
            return endpoint.replace("{context_type}", "CourseSection").replace("{context_id}", context_id) or None
    return None
