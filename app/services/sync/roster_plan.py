"""One link's roster for member sync, planned page by page with reads only: who is already bound to an account,
whose profile changed, which accounts a migration from LTI 1.1 brings along and which must be created. The
planned writes are applied by `roster_writes`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from app.extensions import db
from app.lti.identity import platform_scope
from app.models import AUTH_LTI, LtiIdentity, PlatformRegistration
from app.models.queries.sync import BOUND_ACCOUNTS as _BOUND_ACCOUNTS
from app.models.tools import MEMBER_SYNC_ENROL, MEMBER_SYNC_ENROL_UNENROL, MEMBER_SYNC_UNENROL, PROVISION_AUTO
from app.services.launch import provisioning
from app.services.sync.member_profiles import EMAIL_LIMIT, EmailCheck, MemberClaims, claim_text

MSG_NOT_LTI = "Skipped profile sync for user '{id}'. The user does not belong to the LTI auth method."
MSG_NOT_ELIGIBLE = ("Skipping account creation for member '{id}'. This member is not eligible for automatic "
                    "creation due to the current account provisioning mode.")
MSG_PROHIBITED = "Skipping account creation for member '{id}'. Account creation is currently prohibited on this site."
ABSENT = {"inactive", "deleted"}


class _Account(NamedTuple):
    subject: str
    id: int
    username: str
    auth_method: str
    first_name: str
    last_name: str
    email: str


@dataclass(frozen=True)
class SyncedLink:
    """A resource link as plain values, with what its sync needs from its deployment and registration."""

    id: int
    platform_id: str
    memberships_url: str | None
    versions: tuple[str, ...]
    deployment_pk: int
    usable: bool
    legacy_scope: str | None  # the LTI 1.1 credential a migration claim on this deployment proved


@dataclass(frozen=True)
class ResourceSettings:
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
class PlannedMember:
    """A roster member the plan keeps: bound, migrated or to be created."""

    instructor: bool
    user_id: int | None = None  # None until the account planned for it is created


@dataclass
class NewAccount:
    """An account the plan creates when its writes are applied."""

    username: str
    profile: provisioning.Profile


class SyncRun(Protocol):
    """What a link's plan and writes use of their run (`members.MemberSync`): its settings, counts and messages."""

    settings: ResourceSettings
    creation_allowed: bool
    emails: EmailCheck
    processed: int
    created: int
    enrolled: int
    unenrolled: int

    def note(self, message: str, *, member: bool = False) -> None: ...

    def skip(self, message: str) -> None: ...


@dataclass(frozen=True)
class _PlatformName:
    """What `launch_profile` reads from a registration: its name, the last-name fallback."""

    name: str


class LinkPlan:
    """What one link's roster asks for, built page by page with reads only."""

    def __init__(self, run: SyncRun, link: SyncedLink, registration: PlatformRegistration) -> None:
        self.run = run
        self.link = link
        self.issuer = registration.issuer or ""
        self.scope = platform_scope(registration.platform_key)
        self.registration_id = registration.id
        self.platform = _PlatformName(registration.name)
        self.seen: set[str] = set()  # the cumulative member list: every active member, bound or not
        self.members: dict[str, PlannedMember] = {}
        self.new_accounts: dict[str, NewAccount] = {}
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
                self.members[subject] = PlannedMember(instructor, account.id)
            elif not settings.enrols:
                continue  # an account would be created only to be enrolled
            elif settings.provisioning_mode(instructor) != PROVISION_AUTO:
                self.run.skip(MSG_NOT_ELIGIBLE.format(id=subject))
            elif subject in legacy:
                self.migrated[subject] = legacy[subject]
                self.members[subject] = PlannedMember(instructor, legacy[subject])
            elif not self.run.creation_allowed:
                self.run.skip(MSG_PROHIBITED.format(id=subject))
            else:
                username = provisioning.lti13_username(self.issuer, subject)
                self.new_accounts[subject] = NewAccount(username, self._profile(claims, username))
                self.members[subject] = PlannedMember(instructor)

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
                      if claim_text(m.get("lti11_legacy_user_id"))}
        if not legacy_ids:
            return {}
        rows = db.session.execute(db.select(LtiIdentity.subject, LtiIdentity.user_id).where(
            LtiIdentity.scope == self.link.legacy_scope,
            LtiIdentity.subject.in_(list(legacy_ids)))).all()
        return {legacy_ids[legacy_id]: user_id for legacy_id, user_id in rows}
