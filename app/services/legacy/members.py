"""Legacy member synchronisation: rosters read over the LTI 1.1 memberships extension or the LTI 2
memberships service, then the same roster rules as NRPS member sync with the identity (urn:lti11:{key}, user_id).

It runs as the same `member_sync` job as NRPS and reports the same way: `LegacyMemberSync` reuses MemberSync's
counters, messages and outcome, and replaces how the rosters are found and read. A legacy link has no resource
link row (that needs a deployment), so a roster is identified by what the LMS sent with the launches: consumer
key plus memberships URL and id (LTI 1.1), or memberships URL / context (LTI 2).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator

from app.extensions import db
from app.jobs.queue import FAILED, RETRY, JobOutcome
from app.lti.legacy import launch as lti11
from app.lti.errors import LtiError
from app.lti.identity import credential_scope
from app.lti.legacy.memberships import (
    MembershipError, lti2_memberships_url, read_lti11_members, read_lti2_members,
)
from app.models import AUTH_LTI, Enrolment, Lti11Consumer, LtiUser, PublishedResource, RoleAssignment, User
from app.models.base import utcnow
from app.models.tools import PROVISION_AUTO
from app.services.legacy import launch as legacy_launch
from app.services.launch import enrolment as lti_enrolment
from app.services.launch import provisioning
from app.services.sync.members import MSG_LINK_DONE, MemberSync
from app.services.sync.roster_plan import ABSENT, MSG_NOT_ELIGIBLE, MSG_NOT_LTI, MSG_PROHIBITED
from app.services.sync.roster_writes import MSG_LIMIT, MSG_NO_MEMBERS

MSG_REQUEST_FAILED = "Skipping - Membership service request failed."
MSG_NO_ROSTER = "Skipping - No membership service found."


@dataclass(frozen=True)
class Roster:
    """One legacy roster and the LTI users who came in through it (the ones it may unenrol)."""

    consumer_key: str
    consumer_name: str
    url: str
    stored_url: str | None  # what the launches gave (None when an LTI 2 URL comes from the profile's template)
    memberships_id: str | None  # LTI 1.1 only
    context_id: str | None
    secret: str
    lti2: bool
    lti_user_ids: tuple[int, ...]

    @property
    def label(self) -> str:
        return self.memberships_id or self.context_id or self.url


def rosters(resource: PublishedResource) -> list[Roster]:
    """The rosters the resource's legacy users were launched with, one per (consumer key, service)."""
    consumers = {consumer.consumer_key: consumer for consumer in db.session.scalars(
        db.select(Lti11Consumer).where(Lti11Consumer.published_resource_id == resource.id))}
    groups: dict[tuple[Any, ...], list[LtiUser]] = {}
    for lti_user in db.session.scalars(db.select(LtiUser).where(
            LtiUser.published_resource_id == resource.id, LtiUser.consumer_key.is_not(None))):
        groups.setdefault((lti_user.consumer_key, lti_user.memberships_url, lti_user.memberships_id,
                           lti_user.context_id), []).append(lti_user)
    found: dict[tuple[Any, ...], Roster] = {}
    for (key, stored_url, memberships_id, context_id), users in groups.items():
        consumer = consumers.get(key)
        lti2 = consumer is not None and consumer.secret is not None
        url = stored_url
        if lti2 and not url and context_id:
            url = lti2_memberships_url(consumer.profile, context_id)  # no custom URL: the profile's template
        if not url or (not lti2 and not memberships_id):
            continue
        identity = (key, url, memberships_id)
        previous = found.get(identity)
        ids = tuple(user.id for user in users) + (previous.lti_user_ids if previous else ())
        found[identity] = Roster(
            consumer_key=key, consumer_name=(consumer.name if consumer else "") or key, url=url, stored_url=stored_url,
            memberships_id=memberships_id, context_id=context_id, lti2=lti2, lti_user_ids=ids,
            secret=(consumer.secret if lti2 else resource.secret) or "")
    return list(found.values())


def _read(roster: Roster) -> list[dict[str, Any]]:
    if roster.lti2:
        return [member for page in read_lti2_members(roster.url, roster.consumer_key, roster.secret)
                for member in page]
    return read_lti11_members(roster.url, roster.memberships_id or "", roster.consumer_key, roster.secret)


class LegacyMemberSync(MemberSync):
    """MemberSync's reporting with legacy rosters. Each roster's writes are flushed together ("link" step)."""

    membership_error: MembershipError | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        resource = self.resource
        self.usable = resource.enabled and resource.is_legacy and resource.member_sync and not \
            resource.activity_deleted

    def steps(self) -> Iterator[str]:
        if not self.usable:
            self.note("Skipping - the resource is disabled, deleted or not synchronising users.")
            return
        found = rosters(self.resource)
        if not found:
            self.note(MSG_NO_ROSTER)
        for roster in found:
            try:
                members = _read(roster)
            except MembershipError as error:
                self.membership_error = error
                self.note(MSG_REQUEST_FAILED)
                continue
            self._apply(roster, members)
            db.session.flush()
            yield "link"

    def outcome(self) -> JobOutcome:
        outcome = super().outcome()
        if self.membership_error is None:
            return outcome
        return dataclasses.replace(outcome, status=RETRY if self.membership_error.retryable else FAILED,
                                   message=f"{MSG_REQUEST_FAILED} ({self.membership_error.reason})",
                                   http_status=self.membership_error.status)

    def _apply(self, roster: Roster, members: list[dict[str, Any]]) -> None:
        settings = self.settings
        issuer = lti11.legacy_issuer(roster.consumer_key)
        # The roster speaks for the users of the key and secret it was fetched with, like a launch signed with them.
        scope = credential_scope(roster.consumer_key, roster.secret)
        seen: set[str] = set()
        for member in members:
            if str(member.get("status") or "Active").lower() in ABSENT:
                continue
            subject = str(member["user_id"])
            seen.add(subject)
            self.processed += 1
            roles = [str(role) for role in member.get("roles") or []]
            instructor = provisioning.is_instructor(roles) or provisioning.is_instructor_lti11(",".join(roles))
            user = provisioning.bound_user(scope, subject)
            username = legacy_launch.lti11_username(roster.consumer_key, subject)
            if user is not None:
                if user.auth_method != AUTH_LTI:
                    self.note(MSG_NOT_LTI.format(id=subject), member=True)
                else:
                    provisioning.update_profile(user, self._profile(roster, member, user.username))
            elif not settings.enrols:
                continue
            elif settings.provisioning_mode(instructor) != PROVISION_AUTO:
                self.skip(MSG_NOT_ELIGIBLE.format(id=subject))
                continue
            elif not self.creation_allowed:
                self.skip(MSG_PROHIBITED.format(id=subject))
                continue
            else:
                user = provisioning.create_account(
                    scope=scope, issuer=issuer, subject=subject, username=username,
                    profile=self._profile(roster, member, username), resource=self.resource, registration_id=None,
                    allowed=True)
                self.created += 1
            if settings.enrols:
                self._enrol(roster, user, subject, instructor)
        if settings.unenrols:
            self._unenrol(roster, seen)
        self.note(MSG_LINK_DONE.format(n=len(seen), id=roster.label))

    @staticmethod
    def _profile(roster: Roster, member: dict[str, Any], username: str) -> provisioning.Profile:
        return legacy_launch.member_profile(str(member["user_id"]), member.get("given_name"),
                                            member.get("family_name"), member.get("email"), roster.consumer_name,
                                            username)

    def _enrol(self, roster: Roster, user: User, subject: str, instructor: bool) -> None:
        """Enrolled through the resource with the mapped role; the limits apply silently (counted as skipped)."""
        resource = self.resource
        try:
            lti_enrolment.check_limits(resource, user.id)
        except LtiError:
            self.skip(MSG_LIMIT.format(id=subject))
            return
        known = db.session.execute(db.select(Enrolment.id).where(
            Enrolment.published_resource_id == resource.id, Enrolment.user_id == user.id)).scalar()
        lti_enrolment.enrol(user, resource, resource.role_instructor if instructor else resource.role_learner)
        if known is None:
            self.enrolled += 1
        lti_user = db.session.execute(db.select(LtiUser).where(
            LtiUser.published_resource_id == resource.id, LtiUser.user_id == user.id)).scalar_one_or_none()
        if lti_user is None:
            lti_user = LtiUser(published_resource_id=resource.id, user_id=user.id, subject=subject)
            db.session.add(lti_user)
        lti_user.consumer_key = roster.consumer_key
        lti_user.memberships_url, lti_user.memberships_id = roster.stored_url, roster.memberships_id
        lti_user.context_id = roster.context_id
        lti_user.last_access_at = lti_user.last_access_at or utcnow()

    def _unenrol(self, roster: Roster, seen: set[str]) -> None:
        """Users who came in through this roster and are no longer on it leave the resource (accounts and grades
        stay). An empty roster unenrols no one: a consumer that returned nothing is more likely broken."""
        if not roster.lti_user_ids:
            return
        if not seen:
            self.note(MSG_NO_MEMBERS)
            return
        leaving = [lti_user for lti_user in db.session.scalars(db.select(LtiUser).where(
            LtiUser.id.in_(roster.lti_user_ids))) if lti_user.subject not in seen]
        for lti_user in leaving:
            enrolment_ids = db.select(Enrolment.id).where(
                Enrolment.published_resource_id == self.resource.id, Enrolment.user_id == lti_user.user_id)
            db.session.execute(db.delete(RoleAssignment).where(RoleAssignment.enrolment_id.in_(enrolment_ids)))
            self.unenrolled += db.session.execute(db.delete(Enrolment).where(
                Enrolment.published_resource_id == self.resource.id,
                Enrolment.user_id == lti_user.user_id)).rowcount or 0
            db.session.delete(lti_user)
