"""Member synchronisation over NRPS: one run per published resource, link by link.

Pages are read and planned one at a time with reads only; a link's writes (accounts, bindings, enrolments,
unenrolments) are then applied in bulk in one short transaction, so the database is never locked while the
platform is being waited on and a 10,000-member roster costs a handful of statements per page, not per member.
The rules come from the launch services: who is an instructor, which provisioning mode applies, the username
and profile of a new account (`provisioning`), the enrolment window and limits (`lti_enrolment`).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generator, Iterator, NamedTuple, Sequence

from sqlalchemy import bindparam, delete, func, update

from app.extensions import db
from app.jobs.queue import FAILED, RETRY, JobOutcome
from app.lti.ags_nrps import (
    SCOPE_MEMBERSHIPS, Connector, PlatformError, TokenRefreshNeeded, membership_pages, read_ahead,
)
from app.lti.identity import platform_scope
from app.models import (
    AUTH_LTI, Deployment, Enrolment, LtiIdentity, LtiUser, LtiUserResourceLink, PlatformRegistration,
    PublishedResource, ResourceLink, RoleAssignment, User,
)
from app.models.base import utcnow
from app.models.driver_sql import IN_CHUNK, DriverStatement, insert_many
from app.models.platforms import DEPLOYMENT_ACTIVE, STATUS_ACTIVE
from app.models.tools import (
    MEMBER_SYNC_ENROL, MEMBER_SYNC_ENROL_UNENROL, MEMBER_SYNC_UNENROL, PROVISION_AUTO, TARGET_ACTIVITY,
)
from app.services.courses import permissions
from app.services.launch import provisioning
from app.services.accounts.users import is_valid_email
from app.services.platforms.settings import lti_setting
from app.services.sync.grades import service_timeout

MSG_NO_NRPS = "Skipping - No names and roles service found."
MSG_NO_REGISTRATION = "Skipping - no corresponding application registration found."
MSG_FALLBACK = "Link-level memberships request failed. Making context-level memberships request"
MSG_REQUEST_FAILED = "Skipping - Names and Roles service request failed: {msg}."
MSG_NOT_LTI = "Skipped profile sync for user '{id}'. The user does not belong to the LTI auth method."
MSG_NOT_ELIGIBLE = ("Skipping account creation for member '{id}'. This member is not eligible for automatic "
                    "creation due to the current account provisioning mode.")
MSG_PROHIBITED = "Skipping account creation for member '{id}'. Account creation is currently prohibited on this site."
MSG_LIMIT = "Skipping enrolment for member '{id}'. The enrolment limits of this resource do not allow it."
MSG_NO_MEMBERS = "Skipping unenrolment - the platform returned no members."
MSG_LINK_DONE = "Completed - Synced {n} members for the resource link {id}."
MSG_SUMMARY = "Processed {n} users; enrolled {enrolled} members; unenrolled {unenrolled} members."
ABSENT = {"inactive", "deleted"}
MESSAGES_KEPT = 50
EMAIL_LIMIT = 254

log = logging.getLogger("courseport.sync")


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start:start + IN_CHUNK]


def _insert(table: Any, rows: list[dict[str, Any]], now: datetime, **shared: Any) -> None:
    """Many rows in one executemany on the driver (app/models/driver_sql.py); `shared` values (and
    created_at/updated_at) are the same in every row and converted once."""
    insert_many(table, rows, shared={"created_at": now, "updated_at": now, **shared})


def _insert_returning(table: Any, rows: list[dict[str, Any]], key: str, now: datetime,
                      **shared: Any) -> list[tuple[Any, int]]:
    """Insert many rows at once; returns (row[key], new id) pairs without reading the rows back."""
    return insert_many(table, rows, shared={"created_at": now, "updated_at": now, **shared}, returning=(key, "id"))


# The statements a link's plan runs per page or per chunk of members, on the driver's cursor.
_BOUND_ACCOUNTS = DriverStatement(
    'SELECT i.subject, u.id, u.username, u.auth_method, u.first_name, u.last_name, u.email FROM lti_identity i '
    'JOIN "user" u ON u.id = i.user_id WHERE i.scope = :scope AND i.subject IN :subjects',
    expanding=("subjects",))
_BOUND_IDS = DriverStatement(
    "SELECT subject, user_id FROM lti_identity WHERE scope = :scope AND subject IN :subjects",
    expanding=("subjects",))
_TAKEN_USERNAMES = DriverStatement('SELECT username FROM "user" WHERE username IN :names', expanding=("names",))
_LTI_USERS = DriverStatement(
    "SELECT user_id, id FROM lti_user WHERE published_resource_id = :resource AND user_id IN :ids",
    expanding=("ids",))
_ENROLMENTS = DriverStatement(
    "SELECT user_id, id FROM enrolment WHERE published_resource_id = :resource AND user_id IN :ids",
    expanding=("ids",))
_LINKED = DriverStatement(
    "SELECT lti_user_id FROM lti_user_resource_link WHERE resource_link_id = :link AND lti_user_id IN :ids",
    expanding=("ids",))
_ROLES = DriverStatement(
    "SELECT id, enrolment_id, role, activity_id FROM role_assignment WHERE enrolment_id IN :ids", expanding=("ids",))


class _Account(NamedTuple):
    subject: str
    id: int
    username: str
    auth_method: str
    first_name: str
    last_name: str
    email: str


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


class MemberClaims(NamedTuple):
    """An NRPS member's profile under the names a launch uses, so `provisioning.launch_profile` applies as is.
    (A named tuple: made twice for each of thousands of members, and a frozen dataclass is slow to build.)"""

    subject: str
    given_name: str | None
    family_name: str | None
    name: str | None
    email: str | None

    @classmethod
    def of(cls, member: dict[str, Any]) -> "MemberClaims":
        return cls(str(member["user_id"]), _text(member.get("given_name")), _text(member.get("family_name")),
                   _text(member.get("name")), _text(member.get("email")))


class EmailCheck:
    """`accounts.is_valid_email`, remembered per domain: a roster's addresses mostly share a few domains, and
    the full check costs about 0.15 ms, most of it on the domain. A plain dot-atom address on a domain the full
    check has accepted before is accepted at once; anything else gets the full check."""

    _PLAIN = re.compile(r"^(?=.{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                        r"@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$")

    def __init__(self) -> None:
        self.domains: set[str] = set()

    def valid(self, address: str) -> bool:
        plain = self._PLAIN.match(address) if len(address) <= EMAIL_LIMIT else None
        if plain and plain.group(1).lower() in self.domains:
            return True
        valid = is_valid_email(address)
        if valid and plain:
            self.domains.add(plain.group(1).lower())
        return valid


@dataclass(frozen=True)
class _Link:
    id: int
    platform_id: str
    memberships_url: str | None
    versions: tuple[str, ...]
    deployment_pk: int
    usable: bool
    legacy_scope: str | None  # the LTI 1.1 credential a migration claim on this deployment proved


@dataclass(frozen=True)
class _Settings:
    """The resource as plain values: the job commits between links, which expires ORM rows."""

    id: int
    course_id: int
    activity_id: int | None
    mode: int
    role_instructor: str
    role_learner: str
    provisioning_instructor: int
    provisioning_learner: int
    enrol_period: int
    enrol_start: datetime | None
    enrol_end: datetime | None
    max_enrolled: int
    defaults: dict[str, Any]

    @property
    def enrols(self) -> bool:
        return self.mode in (MEMBER_SYNC_ENROL_UNENROL, MEMBER_SYNC_ENROL)

    @property
    def unenrols(self) -> bool:
        return self.mode in (MEMBER_SYNC_ENROL_UNENROL, MEMBER_SYNC_UNENROL)

    def provisioning_mode(self, instructor: bool) -> int:
        return self.provisioning_instructor if instructor else self.provisioning_learner


@dataclass
class _Member:
    instructor: bool
    user_id: int | None = None  # None until the account planned for it is created


@dataclass
class _NewAccount:
    username: str
    profile: provisioning.Profile


class _LinkPlan:
    """What one link's roster asks for, built page by page with reads only."""

    def __init__(self, run: "MemberSync", link: _Link, registration: PlatformRegistration) -> None:
        self.run = run
        self.link = link
        self.issuer = registration.issuer or ""
        self.scope = platform_scope(registration.platform_key)
        self.registration_id = registration.id
        self.platform = _PlatformName(registration.name)
        self.seen: set[str] = set()  # the cumulative member list: every active member, bound or not
        self.members: dict[str, _Member] = {}
        self.new_accounts: dict[str, _NewAccount] = {}
        self.migrated: dict[str, int] = {}
        self.profiles: dict[int, provisioning.Profile] = {}
        self.fresh: set[int] = set()  # accounts created by this plan's writes

    def add(self, page: list[dict[str, Any]]) -> None:
        active = [member for member in page if isinstance(member.get("user_id"), (str, int))
                  and str(member.get("status") or "Active").lower() not in ABSENT]
        if not active:
            return
        subjects = [str(member["user_id"]) for member in active]
        self.seen.update(subjects)
        bound = {row[0]: _Account(*row) for row in _BOUND_ACCOUNTS.rows(scope=self.scope, subjects=subjects)}
        legacy = self._legacy_accounts([m for m in active if str(m["user_id"]) not in bound])
        settings = self.run.settings
        for member in active:
            claims = MemberClaims.of(member)
            subject = claims.subject
            roles = member.get("roles") if isinstance(member.get("roles"), list) else []
            instructor = provisioning.is_instructor(roles)
            self.run.processed += 1
            if subject in bound:
                account = bound[subject]
                self._refresh_profile(account, claims)
                self.members[subject] = _Member(instructor, account.id)
            elif not settings.enrols:
                continue  # an account would be created only to be enrolled
            elif settings.provisioning_mode(instructor) != PROVISION_AUTO:
                self.run.skip(MSG_NOT_ELIGIBLE.format(id=subject))
            elif subject in legacy:
                self.migrated[subject] = legacy[subject]
                self.members[subject] = _Member(instructor, legacy[subject])
            elif not self.run.creation_allowed:
                self.run.skip(MSG_PROHIBITED.format(id=subject))
            else:
                username = provisioning.lti13_username(self.issuer, subject)
                self.new_accounts[subject] = _NewAccount(username, self._profile(claims, username))
                self.members[subject] = _Member(instructor)

    def _profile(self, claims: MemberClaims, username: str) -> provisioning.Profile:
        """The launch rule, with the email checked by the run's faster equivalent of the same test:
        launch_profile reads only the profile claims, which an NRPS member carries under the same names."""
        profile = provisioning.launch_profile(claims._replace(email=None), self.platform,
                                              username)  # type: ignore[arg-type]
        if claims.email and self.run.emails.valid(claims.email):
            profile.email = claims.email[:EMAIL_LIMIT]
        return profile

    def _refresh_profile(self, account: Any, claims: MemberClaims) -> None:
        """`lti` accounts follow the platform's names and email; other accounts are never touched."""
        if account.auth_method != AUTH_LTI:
            self.run.note(MSG_NOT_LTI.format(id=claims.subject), member=True)
            return
        if (claims.email, claims.given_name, claims.family_name) == (account.email, account.first_name,
                                                                     account.last_name):
            return  # the common case: nothing changed, no need to recompute the fallbacks
        profile = self._profile(claims, account.username)
        if (profile.first_name, profile.last_name, profile.email) != (account.first_name, account.last_name,
                                                                      account.email):
            self.profiles[account.id] = profile

    def _legacy_accounts(self, members: list[dict[str, Any]]) -> dict[str, int]:
        """The LTI 1.1 → 1.3 migration lookup: an account bound to the legacy id within the LTI 1.1 key and
        secret the deployment's migration claim proved."""
        if not self.link.legacy_scope:
            return {}
        legacy_ids = {str(m["lti11_legacy_user_id"]): str(m["user_id"]) for m in members
                      if _text(m.get("lti11_legacy_user_id"))}
        if not legacy_ids:
            return {}
        rows = db.session.execute(db.select(LtiIdentity.subject, LtiIdentity.user_id).where(
            LtiIdentity.scope == self.link.legacy_scope,
            LtiIdentity.subject.in_(list(legacy_ids)))).all()
        return {legacy_ids[legacy_id]: user_id for legacy_id, user_id in rows}

    # --- Applying: one short write transaction per link -------------------------------------------------

    def apply(self) -> None:
        self._create_accounts()
        self._bind(self.migrated)
        self._update_profiles()
        if self.run.settings.enrols:
            self._enrol()
        if self.run.settings.unenrols:
            self._unenrol()

    def _bound_now(self, subjects: Sequence[str]) -> dict[str, int]:
        return dict(_BOUND_IDS.rows_in_chunks("subjects", list(subjects), scope=self.scope))

    def _create_accounts(self) -> None:
        """New `lti` accounts with the resource's user defaults, bound in bulk. A launch that bound one of
        these identities meanwhile wins; an existing account holding the username goes through the launch
        path's own creation, which finds the next free username."""
        if not self.new_accounts:
            return
        for subject, user_id in self._bound_now(list(self.new_accounts)).items():
            self.members[subject].user_id = user_id
            del self.new_accounts[subject]
        usernames = [account.username for account in self.new_accounts.values()]
        taken = {row[0] for row in _TAKEN_USERNAMES.rows_in_chunks("names", usernames)}
        now = utcnow()
        rows = [{"username": a.username, "first_name": a.profile.first_name, "last_name": a.profile.last_name,
                 "email": a.profile.email} for a in self.new_accounts.values() if a.username not in taken]
        ids = dict(_insert_returning(User.__table__, rows, "username", now, auth_method=AUTH_LTI,
                                     password_hash=None, **self.run.settings.defaults))
        created = {subject: ids[a.username] for subject, a in self.new_accounts.items() if a.username in ids}
        self._bind(created)
        winners = self._bound_now(list(created))
        losers = [user_id for subject, user_id in created.items() if winners.get(subject) != user_id]
        if losers:
            db.session.execute(delete(User).where(User.id.in_(losers)))
        self.run.created += len(created) - len(losers)
        # Accounts only this uncommitted transaction can see: nothing else can reference them yet.
        self.fresh.update(user_id for subject, user_id in created.items() if winners.get(subject) == user_id)
        for subject, account in self.new_accounts.items():
            if account.username in taken:
                resource = db.session.get(PublishedResource, self.run.settings.id)
                winners[subject] = provisioning.create_account(
                    scope=self.scope, issuer=self.issuer, subject=subject, username=account.username,
                    profile=account.profile,
                    resource=resource, registration_id=self.registration_id, allowed=True).id
                self.run.created += 1
            self.members[subject].user_id = winners[subject]

    def _bind(self, accounts: dict[str, int]) -> None:
        if not accounts:
            return
        now = utcnow()
        insert_many(LtiIdentity.__table__, [{"user_id": user_id, "subject": subject}
                                            for subject, user_id in accounts.items()],
                    shared={"scope": self.scope, "issuer": self.issuer, "registration_id": self.registration_id,
                            "created_at": now, "updated_at": now}, ignore_conflicts_on=["scope", "subject"])

    def _update_profiles(self) -> None:
        if not self.profiles:
            return
        db.session.execute(
            update(User.__table__).where(User.__table__.c.id == bindparam("uid")).values(
                first_name=bindparam("first"), last_name=bindparam("last"), email=bindparam("mail"),
                updated_at=bindparam("now")),
            [{"uid": user_id, "first": p.first_name, "last": p.last_name, "mail": p.email, "now": utcnow()}
             for user_id, p in self.profiles.items()])

    def _enrol(self) -> None:
        """LTI user linked to this link, enrolled through the resource with the mapped role at the published
        context; limits apply silently (skipped members are counted)."""
        settings = self.run.settings
        wanted = {m.user_id: m for m in self.members.values() if m.user_id is not None}
        subjects = {m.user_id: s for s, m in self.members.items() if m.user_id is not None}
        if not wanted:
            return
        now = utcnow()
        known = [uid for uid in wanted if uid not in self.fresh]  # a new account has no LTI user or enrolment
        lti_users = self._existing(_LTI_USERS, known)
        existing = list(lti_users.values())
        lti_users.update(_insert_returning(LtiUser.__table__, [
            {"user_id": uid, "subject": subjects[uid]} for uid in wanted if uid not in lti_users], "user_id", now,
            published_resource_id=settings.id, deployment_id=self.link.deployment_pk))
        # LTI users made just now have no links yet
        linked = {row[0] for row in _LINKED.rows_in_chunks("ids", existing, link=self.link.id)}
        new_links = [lid for lid in lti_users.values() if lid not in linked]
        if new_links:
            _insert(LtiUserResourceLink.__table__, [{"lti_user_id": lid} for lid in new_links], now,
                    resource_link_id=self.link.id)
        enrolments = self._existing(_ENROLMENTS, known)
        self._set_roles(enrolments, wanted)
        self._add_enrolments([uid for uid in wanted if uid not in enrolments], wanted, subjects, now)

    def _existing(self, statement: DriverStatement, user_ids: list[int]) -> dict[int, int]:
        """user id → row id of this resource's LTI users or enrolments."""
        return dict(statement.rows_in_chunks("ids", user_ids, resource=self.run.settings.id))

    def _role(self, member: _Member) -> str:
        return self.run.settings.role_instructor if member.instructor else self.run.settings.role_learner

    def _set_roles(self, enrolments: dict[int, int], wanted: dict[int, _Member]) -> None:
        """Existing enrolments keep their place; a role that changed on the platform is replaced."""
        if not enrolments:
            return
        scope = self.run.settings.activity_id
        by_enrolment = {enrolment_id: user_id for user_id, enrolment_id in enrolments.items()}
        current: dict[int, tuple[int, str, int | None]] = {
            enrolment_id: (role_id, role, activity_id)
            for role_id, enrolment_id, role, activity_id in _ROLES.rows_in_chunks("ids", list(by_enrolment))}
        changes, additions = [], []
        for enrolment_id, user_id in by_enrolment.items():
            role = self._role(wanted[user_id])
            if enrolment_id not in current:
                additions.append((enrolment_id, user_id, role))
            elif current[enrolment_id][1:] != (role, scope):
                changes.append({"rid": current[enrolment_id][0], "role": role, "scope": scope})
        if changes:
            table = RoleAssignment.__table__
            db.session.execute(update(table).where(table.c.id == bindparam("rid")).values(
                role=bindparam("role"), activity_id=bindparam("scope")), changes)
        self._add_roles(additions)

    def _add_roles(self, rows: list[tuple[int, int, str]]) -> None:
        if rows:
            now = utcnow()
            _insert(RoleAssignment.__table__, [
                {"enrolment_id": enrolment_id, "user_id": user_id, "role": role}
                for enrolment_id, user_id, role in rows], now, course_id=self.run.settings.course_id,
                activity_id=self.run.settings.activity_id)
            permissions.forget_roles()  # written past the ORM: the per-page role cache would not see them

    def _add_enrolments(self, user_ids: list[int], wanted: dict[int, _Member], subjects: dict[int, str],
                        now: datetime) -> None:
        settings = self.run.settings
        room = len(user_ids)
        if (settings.enrol_start and now < settings.enrol_start) or (settings.enrol_end and now > settings.enrol_end):
            room = 0
        elif settings.max_enrolled > 0:
            count = db.session.execute(db.select(func.count(Enrolment.id)).where(
                Enrolment.published_resource_id == settings.id)).scalar_one()
            room = max(settings.max_enrolled - count, 0)
        for user_id in user_ids[room:]:
            self.run.skip(MSG_LIMIT.format(id=subjects[user_id]))
        admitted = user_ids[:room]
        if not admitted:
            return
        end = now + timedelta(seconds=settings.enrol_period) if settings.enrol_period else None
        enrolments = dict(_insert_returning(Enrolment.__table__, [{"user_id": uid} for uid in admitted], "user_id",
                                            now, course_id=settings.course_id, published_resource_id=settings.id,
                                            time_start=now, time_end=end))
        self._add_roles([(enrolments[uid], uid, self._role(wanted[uid])) for uid in admitted])
        self.run.enrolled += len(admitted)

    def _unenrol(self) -> None:
        """LTI users linked to this link and absent from the roster lose this link; once linked to no other
        link of the resource, their enrolment through it goes (accounts and grades stay). An empty roster
        unenrols no one: a platform that returned nothing is more likely broken than empty."""
        rows = db.session.execute(
            db.select(LtiUser.id, LtiUser.user_id, LtiUser.subject)
            .join(LtiUserResourceLink, LtiUserResourceLink.lti_user_id == LtiUser.id)
            .where(LtiUserResourceLink.resource_link_id == self.link.id)).all()
        if not rows:
            return
        if not self.seen:
            self.run.note(MSG_NO_MEMBERS)
            return
        missing = [row for row in rows if row.subject not in self.seen]
        if not missing:
            return
        gone_ids = [row.id for row in missing]
        for chunk in _chunks(gone_ids):
            db.session.execute(delete(LtiUserResourceLink).where(
                LtiUserResourceLink.resource_link_id == self.link.id, LtiUserResourceLink.lti_user_id.in_(chunk)))
        still_linked: set[int] = set()
        for chunk in _chunks(gone_ids):
            still_linked.update(db.session.execute(db.select(LtiUserResourceLink.lti_user_id).where(
                LtiUserResourceLink.lti_user_id.in_(chunk))).scalars())
        leaving = [row for row in missing if row.id not in still_linked]
        settings = self.run.settings
        for chunk in _chunks([row.user_id for row in leaving]):
            enrolment_ids = db.select(Enrolment.id).where(
                Enrolment.published_resource_id == settings.id, Enrolment.user_id.in_(chunk))
            db.session.execute(delete(RoleAssignment).where(RoleAssignment.enrolment_id.in_(enrolment_ids)))
            self.run.unenrolled += db.session.execute(delete(Enrolment).where(
                Enrolment.published_resource_id == settings.id, Enrolment.user_id.in_(chunk))).rowcount or 0
        for chunk in _chunks([row.id for row in leaving]):
            db.session.execute(delete(LtiUser).where(LtiUser.id.in_(chunk)))


@dataclass(frozen=True)
class _PlatformName:
    """What `launch_profile` reads from a registration: its name, the last-name fallback."""

    name: str


@dataclass
class MemberSync:
    """One member-sync run of a resource. Iterate `steps()`: after a "page" nothing is written yet; after a
    "link" that link's writes are flushed and the caller commits them together."""

    resource: PublishedResource
    settings: _Settings = field(init=False)
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
        self.settings = _Settings(
            id=r.id, course_id=r.course_id, activity_id=r.activity_id if r.target == TARGET_ACTIVITY else None,
            mode=r.member_sync_mode, role_instructor=r.role_instructor, role_learner=r.role_learner,
            provisioning_instructor=r.provisioning_mode_instructor, provisioning_learner=r.provisioning_mode_learner,
            enrol_period=r.enrol_period, enrol_start=r.enrol_start, enrol_end=r.enrol_end,
            max_enrolled=r.max_enrolled, defaults={name: getattr(r, name) for name in provisioning.PROFILE_DEFAULTS})
        self.creation_allowed = bool(lti_setting("allow_account_creation"))
        self.usable = r.enabled and not r.is_legacy and r.member_sync and not r.activity_deleted

    def note(self, message: str, *, member: bool = False) -> None:
        log.log(logging.DEBUG if member else logging.INFO, "resource %s: %s", self.settings.id, message)
        if len(self.messages) < MESSAGES_KEPT:
            self.messages.append(message)

    def skip(self, message: str) -> None:
        self.skipped += 1
        self.note(message, member=True)

    def _links(self) -> list[_Link]:
        rows = db.session.execute(
            db.select(ResourceLink.id, ResourceLink.resource_link_id, ResourceLink.nrps_memberships_url,
                      ResourceLink.nrps_versions, Deployment.id.label("deployment_pk"), Deployment.status,
                      Deployment.legacy_scope, PlatformRegistration.status.label("registration_status"),
                      PlatformRegistration.access_token_url)
            .join(Deployment, Deployment.id == ResourceLink.deployment_id)
            .join(PlatformRegistration, PlatformRegistration.id == Deployment.registration_id)
            .where(ResourceLink.published_resource_id == self.settings.id).order_by(ResourceLink.id)).all()
        return [_Link(row.id, row.resource_link_id, row.nrps_memberships_url, tuple(row.nrps_versions or ()),
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

    def _sync_link(self, link: _Link) -> Iterator[str]:
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
        plan.apply()
        db.session.flush()
        self.note(MSG_LINK_DONE.format(n=len(plan.seen), id=link.platform_id))
        yield "link"

    def _read(self, link: _Link, registration: PlatformRegistration, connector: Connector,
              resource_link_id: str | None) -> Generator[str, None, _LinkPlan]:
        """One complete listing, planned page by page. Pages are fetched ahead on a helper thread with the
        current token; a 401 there gets the token refreshed here and the listing read again, once."""
        processed = self.processed
        for refresh in (False, True):
            plan = _LinkPlan(self, link, registration)
            self.processed = processed  # a listing read again counts its members once
            token = connector.get_access_token([SCOPE_MEMBERSHIPS], refresh=refresh)
            pages = membership_pages(connector.detached(token), link.memberships_url or "", resource_link_id)
            try:
                for page in read_ahead(pages):
                    plan.add(page)
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
