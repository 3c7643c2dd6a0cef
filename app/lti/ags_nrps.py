"""Assignment and Grade Services 2.0 and Names and Role Provisioning Services 2.0.

pylti1p3's service classes build the requests (media types, score and line item bodies, the scores URL);
`Connector` sends them through `outbound` (timeouts, size cap, User-Agent, no credentials across hosts) with
tokens from the shared database cache, remembered in-process so a run of scores costs no token query each.
"""
from __future__ import annotations

import copy
import email.utils
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Sequence

import requests
from flask import current_app
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem, TLineItem
from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.registration import Registration
from pylti1p3.service_connector import ServiceConnector, TServiceConnectorResponse
from pylti1p3.utils import add_param_to_url

from app.extensions import db
from app.lti import outbound, public_address, service_token
from app.models import AccessToken, PlatformRegistration
from app.models.base import utcnow
from app.models.transactions import end_reads

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_MEMBERSHIPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES_USED = (SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_SCORE)
GRADE_TAG = "grade"
LINEITEM_PAGES = 100
MEMBERSHIP_PAGES = 1000
EXCERPT = 500
RETRYABLE = {408, 429}

Timeout = tuple[float, float]


class PlatformError(Exception):
    """A service call failed. `status` is the platform's HTTP status (0: no answer), `excerpt` its body."""

    def __init__(self, reason: str, status: int = 0, excerpt: str = "", retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.excerpt = excerpt[:EXCERPT]
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Worth trying again later: no answer, a timeout, rate limiting or a server error."""
        return self.status == 0 or self.status in RETRYABLE or self.status >= 500


class TokenRefreshNeeded(Exception):
    """A detached connector (no database at hand) was answered 401: its caller refreshes the token and resends."""


class LineItemsNotGranted(Exception):
    """No line item was found and the platform did not grant the scope to create one."""


@dataclass(frozen=True)
class Exchange:
    """The last response a connector received, for the per-user sync log."""

    status: int
    excerpt: str


def granted_ags_scopes(granted: Sequence[str]) -> list[str]:
    """The AGS scopes grade sync uses, limited to what the platform granted in the launch (one token for all)."""
    return sorted(scope for scope in AGS_SCOPES_USED if scope in set(granted))


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - (now or utcnow())).total_seconds(), 0.0)


def next_page_url(headers: Any) -> str | None:
    for link in requests.utils.parse_header_links(headers.get("Link", "") or ""):
        if link.get("rel", "").lower() == "next" and link.get("url"):
            return link["url"]
    return None


def _token_memo() -> dict[tuple, tuple[str, datetime]]:
    """Tokens already read from the shared cache, per app (so tests with fresh databases never share one)."""
    with _memo_lock:
        return current_app.extensions.setdefault("courseport_service_tokens", {})


_memo_lock = threading.Lock()


class Connector(ServiceConnector):
    """pylti1p3's connector with our transport and token cache, a 401 retry and page guards."""

    def __init__(self, registration: PlatformRegistration, *, timeout: Timeout | None = None,
                 max_pages: int = LINEITEM_PAGES) -> None:
        lib_registration = Registration().set_issuer(registration.issuer or "").set_client_id(
            registration.client_id or "").set_auth_token_url(registration.access_token_url or "")
        super().__init__(lib_registration, requests_session=outbound.session())
        # Plain values: the worker commits between jobs, which expires ORM rows.
        self.registration_id = registration.id
        self._memo_prefix = (registration.id, registration.client_id, registration.access_token_url)
        self.timeout = timeout or (outbound.CONNECT_TIMEOUT, outbound.READ_TIMEOUT)
        self.max_pages = max_pages
        self.public_only = public_address.required()  # launch URLs; decided with the app, for copies on threads
        self.last: Exchange | None = None
        self._fixed_token: str | None = None
        self._deferred: list[ServiceCall] | None = None

    def detached(self, token: str) -> "Connector":
        """A copy for another thread: it uses `token` as is and never touches the database or the app
        (a 401 raises TokenRefreshNeeded instead of refreshing)."""
        twin = copy.copy(self)
        twin._fixed_token, twin.last = token, None
        return twin

    def get_access_token(self, scopes: Sequence[str], refresh: bool = False) -> str:
        if self._fixed_token is not None:
            if refresh:
                raise TokenRefreshNeeded()
            return self._fixed_token
        memo = _token_memo()
        key = (*self._memo_prefix, service_token.scope_key(scopes))
        remembered = memo.get(key)
        if remembered and not refresh and remembered[1] > utcnow():
            return remembered[0]
        registration = db.session.get(PlatformRegistration, self.registration_id)
        if registration is None:
            raise PlatformError("the platform registration no longer exists")
        try:
            token = service_token.access_token(registration, scopes, refresh=refresh)
        except service_token.TokenError as error:
            raise PlatformError(f"the platform did not issue an access token ({error.reason})",
                                error.status, error.body) from None
        expires_at = db.session.execute(db.select(AccessToken.expires_at).where(
            AccessToken.registration_id == registration.id,
            AccessToken.scopes == service_token.scope_key(scopes))).scalar()
        memo[key] = (token, expires_at or utcnow() + timedelta(seconds=service_token.DEFAULT_LIFETIME))
        return token

    def make_service_request(self, scopes: Sequence[str], url: str, *, is_post: bool = False,
                             data: str | None = None, content_type: str = "application/json",
                             accept: str = "application/json",
                             case_insensitive_headers: bool = False) -> TServiceConnectorResponse:
        """One service call; a 401 drops the cached token and retries once with a fresh one.
        A deferring twin (`_deferring`) only sends the request and keeps it for ServiceCall.finish()."""
        call = ServiceCall(self, scopes, url, is_post, data, content_type, accept,
                           send_now=self._deferred is not None)
        if self._deferred is not None:
            self._deferred.append(call)
            return {"headers": {}, "body": None, "next_page_url": None}
        return call.finish()

    def get_paginated_data(self, scopes: Sequence[str], url: str | None, *args: Any,
                           **kwargs: Any) -> Iterator[TServiceConnectorResponse]:
        return _pages(lambda page_url: self.make_service_request(scopes, page_url, *args, **kwargs), url,
                      self.max_pages)

    def _deferring(self) -> "Connector":
        twin = copy.copy(self)
        twin._deferred = []
        return twin


class ServiceCall:
    """A service request; `finish()` reads the answer (on the thread that has the database, so a 401 can refresh
    the token) and returns what make_service_request returns, or raises PlatformError. With `send_now` (bulk
    score posting) the request is written at once and its answer read by `finish()`, so the caller records the
    previous score meanwhile; otherwise `finish()` makes a plain request."""

    def __init__(self, connector: Connector, scopes: Sequence[str], url: str, is_post: bool, data: str | None,
                 content_type: str, accept: str, *, send_now: bool = False) -> None:
        self.connector, self.scopes, self.url = connector, list(scopes), url
        self.is_post, self.data, self.content_type, self.accept = is_post, data, content_type, accept
        self.token = connector.get_access_token(self.scopes)
        self.pending = None
        if send_now:
            end_reads(self._describe())
            self.pending = outbound.begin(*self._target(), **self._options(self.token))

    def _target(self) -> tuple[str, str]:
        return "POST" if self.is_post else "GET", self.url

    def _describe(self) -> str:
        return " ".join(self._target())

    def _options(self, token: str) -> dict[str, Any]:
        headers = {"Authorization": "Bearer " + token, "Accept": self.accept}
        if self.is_post:
            headers["Content-Type"] = self.content_type
        return {"headers": headers, "data": self.data, "timeout": self.connector.timeout,
                "public_only": self.connector.public_only}

    def _response(self, token: str) -> outbound.Response:
        end_reads(self._describe())
        try:
            if self.pending is not None:
                pending, self.pending = self.pending, None
                return pending.response()
            return outbound.request(*self._target(), **self._options(token))
        except outbound.OutboundError as error:
            raise PlatformError(error.reason) from None

    def finish(self) -> TServiceConnectorResponse:
        connector = self.connector
        response = self._response(self.token)
        if response.status_code == 401:
            # A fresh token, unless an earlier call already replaced the one this request carried.
            token = connector.get_access_token(self.scopes)
            if token == self.token:
                token = connector.get_access_token(self.scopes, refresh=True)
            response = self._response(token)
        connector.last = Exchange(response.status_code, response.text[:EXCERPT])
        if not response.ok:
            raise PlatformError(f"HTTP {response.status_code}", response.status_code, response.text,
                                retry_after_seconds(response.headers.get("Retry-After")))
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        return {"headers": response.headers, "body": body, "next_page_url": next_page_url(response.headers)}


def _pages(fetch: Callable[[str], TServiceConnectorResponse], url: str | None,
           max_pages: int) -> Iterator[TServiceConnectorResponse]:
    """Follow `Link: rel="next"`, stopping after `max_pages` pages or when a next URL comes round again
    (platforms that ignore paging would otherwise keep us here forever)."""
    seen: set[str] = set()
    while url and url not in seen and len(seen) < max_pages:
        seen.add(url)
        response = fetch(url)
        yield response
        url = response["next_page_url"]


@dataclass(frozen=True)
class AgsEndpoint:
    """What a launch told us about a link's grade service."""

    lineitems_url: str | None
    lineitem_url: str | None
    scopes: tuple[str, ...]

    @property
    def can_score(self) -> bool:
        return bool(self.lineitems_url or self.lineitem_url) and SCOPE_SCORE in self.scopes

    def service(self, connector: Connector, lineitems_url: str | None = None) -> AssignmentsGradesService:
        data: dict[str, Any] = {"scope": granted_ags_scopes(self.scopes),
                                "lineitems": lineitems_url or self.lineitems_url}
        if self.lineitem_url:
            data["lineitem"] = self.lineitem_url
        return AssignmentsGradesService(connector, data)  # type: ignore[arg-type]


def _matches(wanted: LineItem) -> Callable[[TLineItem], bool]:
    def match(item: TLineItem) -> bool:
        return (item.get("resourceLinkId") == wanted.get_resource_link_id()
                and item.get("resourceId") == wanted.get_resource_id()
                and item.get("tag", wanted.get_tag()) == wanted.get_tag())
    return match


def find_or_create_lineitem(connector: Connector, endpoint: AgsEndpoint, wanted: LineItem) -> str:
    """The URL of this link's line item: the first one matching (resourceLinkId, resourceId, tag) across the
    container's pages, else a new one (needs the lineitem scope: LineItemsNotGranted otherwise)."""
    if not endpoint.lineitems_url or not ({SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY} & set(endpoint.scopes)):
        raise LineItemsNotGranted()
    search_url = endpoint.lineitems_url
    for name, value in (("resource_link_id", wanted.get_resource_link_id()),
                        ("resource_id", wanted.get_resource_id()), ("tag", wanted.get_tag())):
        search_url = add_param_to_url(search_url, name, value)
    connector.max_pages = LINEITEM_PAGES
    try:
        found = endpoint.service(connector, search_url).find_lineitem_satisfying(_matches(wanted))
        if found is not None and found.get_id():
            return str(found.get_id())
        if SCOPE_LINEITEM not in endpoint.scopes:
            raise LineItemsNotGranted()
        created = endpoint.service(connector).create_lineitem(wanted)
    except LtiException as error:  # the platform answered, but not with line items
        raise _unexpected(connector, str(error)) from None
    if not created.get_id():
        raise _unexpected(connector, "the platform created a line item without an id")
    return str(created.get_id())


def _unexpected(connector: Connector, reason: str) -> PlatformError:
    last = connector.last or Exchange(0, "")
    return PlatformError(reason, last.status, last.excerpt)


def new_lineitem(label: str, score_maximum: float, resource_uuid: str, resource_link_id: str) -> LineItem:
    return (LineItem().set_label(label).set_score_maximum(score_maximum).set_resource_id(resource_uuid)
            .set_tag(GRADE_TAG).set_resource_link_id(resource_link_id))


def score(user_id: str, given: float, maximum: float, timestamp: datetime) -> Grade:
    """A final score in raw points; the timestamp in ISO 8601 UTC with milliseconds."""
    stamp = timestamp.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return (Grade().set_user_id(user_id).set_score_given(given).set_score_maximum(maximum)
            .set_activity_progress("Completed").set_grading_progress("FullyGraded").set_timestamp(stamp))


def post_score(connector: Connector, endpoint: AgsEndpoint, lineitem_url: str, grade: Grade) -> Exchange:
    """POST to `{lineitem path}/scores` (any query string kept after it). Raises PlatformError on failure."""
    endpoint.service(connector).put_grade(grade, LineItem({"id": lineitem_url}))
    return connector.last or Exchange(0, "")


class ScoreInFlight:
    """A score POSTed by `start_score`, its answer not read yet."""

    def __init__(self, call: ServiceCall) -> None:
        self.call = call

    def finish(self) -> Exchange:
        """The platform's answer, as post_score returns it (raises PlatformError the same way)."""
        self.call.finish()
        return self.call.connector.last or Exchange(0, "")


def start_score(connector: Connector, endpoint: AgsEndpoint, lineitem_url: str, grade: Grade) -> ScoreInFlight:
    """post_score in two halves: the request goes out now, built by pylti1p3 as post_score builds it, and
    `finish()` reads the answer, so the caller can record the previous score while the platform works."""
    deferring = connector._deferring()
    endpoint.service(deferring).put_grade(grade, LineItem({"id": lineitem_url}))
    (call,) = deferring._deferred or ()
    return ScoreInFlight(call)


def membership_pages(connector: Connector, memberships_url: str,
                     resource_link_id: str | None = None) -> Iterator[list[dict[str, Any]]]:
    """The members, a page at a time (never the whole roster at once), `rlid` added when given."""
    url = add_param_to_url(memberships_url, "rlid", resource_link_id) if resource_link_id else memberships_url
    service = NamesRolesProvisioningService(connector, {"context_memberships_url": memberships_url})
    for page in _pages(service.get_nrps_data, url, MEMBERSHIP_PAGES):
        body = page["body"]
        members = body.get("members") if isinstance(body, dict) else None
        if not isinstance(members, list):
            raise _unexpected(connector, "the platform's answer had no members list")
        yield [member for member in members if isinstance(member, dict)]
