"""Member synchronisation over NRPS: one run per published resource, link by link.

Pages are read and planned one at a time with reads only (`roster_plan`); a link's writes (accounts, bindings,
enrolments, unenrolments) are then applied in bulk in one short transaction (`roster_writes`), so the database is
never locked while the platform is being waited on and a 10,000-member roster costs a handful of statements per
page, not per member. The rules come from the launch services: who is an instructor, which provisioning mode
applies, the username and profile of a new account (`provisioning`), the enrolment window and limits
(`lti_enrolment`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Generator, Iterator

from app.extensions import db
from app.jobs.queue import FAILED, RETRY, JobOutcome
from app.lti.ags_nrps import (
    SCOPE_MEMBERSHIPS, Connector, PlatformError, TokenRefreshNeeded, membership_pages,
)
from app.lti.read_ahead import read_ahead
from app.models import Deployment, PlatformRegistration, PublishedResource, ResourceLink
from app.models.platforms import DEPLOYMENT_ACTIVE, STATUS_ACTIVE
from app.models.transactions import end_reads
from app.models.tools import TARGET_ACTIVITY
from app.services.accounts.profile import PROFILE_FIELDS
from app.services.platforms.settings import lti_setting
from app.services.sync.grades import service_timeout
from app.services.sync.member_profiles import EmailCheck
from app.services.sync.roster_plan import LinkPlan, ResourceSettings, SyncedLink
from app.services.sync.roster_writes import LinkWrites

MSG_NO_NRPS = "Skipping - No names and roles service found."
MSG_NO_REGISTRATION = "Skipping - no corresponding application registration found."
MSG_FALLBACK = "Link-level memberships request failed. Making context-level memberships request"
MSG_REQUEST_FAILED = "Skipping - Names and Roles service request failed: {msg}."
MSG_LINK_DONE = "Completed - Synced {n} members for the resource link {id}."
MSG_SUMMARY = "Processed {n} users; enrolled {enrolled} members; unenrolled {unenrolled} members."
MESSAGES_KEPT = 50

log = logging.getLogger("courseport.sync")


@dataclass
class MemberSync:
    """One member-sync run of a resource. Iterate `steps()`: after a "page" nothing is written yet; after a
    "link" that link's writes are flushed and the caller commits them together."""

    resource: PublishedResource
    settings: ResourceSettings = field(init=False)
    creation_allowed: bool = field(init=False)
    processed: int = 0
    enrolled: int = 0
    unenrolled: int = 0
    skipped: int = 0
    created: int = 0
    messages: list[str] = field(default_factory=list)
    error: PlatformError | None = None
    usable: bool = field(init=False)
    emails: EmailCheck = field(default_factory=EmailCheck)

    def __post_init__(self) -> None:
        r = self.resource
        self.settings = ResourceSettings(
            id=r.id, course_id=r.course_id, activity_id=r.activity_id if r.target == TARGET_ACTIVITY else None,
            mode=r.member_sync_mode, role_instructor=r.role_instructor, role_learner=r.role_learner,
            provisioning_instructor=r.provisioning_mode_instructor, provisioning_learner=r.provisioning_mode_learner,
            enrol_period=r.enrol_period, enrol_start=r.enrol_start, enrol_end=r.enrol_end,
            max_enrolled=r.max_enrolled, defaults={name: getattr(r, name) for name in PROFILE_FIELDS})
        self.creation_allowed = bool(lti_setting("allow_account_creation"))
        self.usable = r.enabled and not r.is_legacy and r.member_sync and not r.activity_deleted

    def note(self, message: str, *, member: bool = False) -> None:
        log.log(logging.DEBUG if member else logging.INFO, "resource %s: %s", self.settings.id, message)
        if len(self.messages) < MESSAGES_KEPT:
            self.messages.append(message)

    def skip(self, message: str) -> None:
        self.skipped += 1
        self.note(message, member=True)

    def _links(self) -> list[SyncedLink]:
        rows = db.session.execute(
            db.select(ResourceLink.id, ResourceLink.resource_link_id, ResourceLink.nrps_memberships_url,
                      ResourceLink.nrps_versions, Deployment.id.label("deployment_pk"), Deployment.status,
                      Deployment.legacy_scope, PlatformRegistration.status.label("registration_status"),
                      PlatformRegistration.access_token_url)
            .join(Deployment, Deployment.id == ResourceLink.deployment_id)
            .join(PlatformRegistration, PlatformRegistration.id == Deployment.registration_id)
            .where(ResourceLink.published_resource_id == self.settings.id).order_by(ResourceLink.id)).all()
        return [SyncedLink(row.id, row.resource_link_id, row.nrps_memberships_url, tuple(row.nrps_versions or ()),
                      row.deployment_pk,
                      row.status == DEPLOYMENT_ACTIVE and row.registration_status == STATUS_ACTIVE
                      and bool(row.access_token_url), row.legacy_scope)
                for row in rows]

    def steps(self) -> Iterator[str]:
        if not self.usable:
            self.note("Skipping - the resource is disabled, deleted or not synchronising users.")
            return
        for link in self._links():
            yield from self._sync_link(link)

    def _sync_link(self, link: SyncedLink) -> Iterator[str]:
        if not link.memberships_url or "2.0" not in link.versions:
            self.note(MSG_NO_NRPS)
            return
        deployment = db.session.get(Deployment, link.deployment_pk)
        if not link.usable or deployment is None:
            self.note(MSG_NO_REGISTRATION)
            return
        registration = deployment.registration
        connector = Connector(registration, timeout=service_timeout())
        try:
            plan = yield from self._read(link, registration, connector, link.platform_id)
        except PlatformError:
            self.note(MSG_FALLBACK)
            try:
                plan = yield from self._read(link, registration, connector, None)
            except PlatformError as error:
                self.error = error
                self.note(MSG_REQUEST_FAILED.format(msg=error.reason))
                return
        LinkWrites(plan).apply()
        db.session.flush()
        self.note(MSG_LINK_DONE.format(n=len(plan.seen), id=link.platform_id))
        yield "link"

    def _read(self, link: SyncedLink, registration: PlatformRegistration, connector: Connector,
              resource_link_id: str | None) -> Generator[str, None, LinkPlan]:
        """One complete listing, planned page by page. Pages are fetched ahead on a helper thread with the
        current token; a 401 there gets the token refreshed here and the listing read again, once. Each page's
        reads end before the next page is awaited: the job holds no transaction while the platform answers."""
        processed = self.processed
        for refresh in (False, True):
            plan = LinkPlan(self, link, registration)
            self.processed = processed  # a listing read again counts its members once
            token = connector.get_access_token([SCOPE_MEMBERSHIPS], refresh=refresh)
            pages = membership_pages(connector.detached(token), link.memberships_url or "", resource_link_id)
            awaited = f"GET {link.memberships_url} (a page read ahead)"
            end_reads(awaited)
            try:
                for page in read_ahead(pages):
                    plan.add(page)
                    end_reads(awaited)
                    yield "page"
                return plan
            except TokenRefreshNeeded:
                continue
            except PlatformError:
                self.processed = processed
                raise
        self.processed = processed
        raise PlatformError("HTTP 401", 401)

    def summary(self) -> str:
        return MSG_SUMMARY.format(n=self.processed, enrolled=self.enrolled, unenrolled=self.unenrolled)

    def outcome(self) -> JobOutcome:
        """Counts and messages for the sync status page; a failed roster request retries like a grade job."""
        self.note(self.summary())
        result = {"processed": self.processed, "enrolled": self.enrolled, "unenrolled": self.unenrolled,
                  "skipped": self.skipped, "created": self.created, "messages": self.messages}
        if self.error is None:
            return JobOutcome.done(self.summary(), **result)
        status = RETRY if self.error.retryable else FAILED
        return JobOutcome(status, MSG_REQUEST_FAILED.format(msg=self.error.reason), http_status=self.error.status
                          or None, retry_after=self.error.retry_after, result=result)
