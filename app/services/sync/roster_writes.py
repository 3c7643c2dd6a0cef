"""Member sync's writes for one link, applied in bulk in one short transaction after its roster was read:
accounts created and bound, profiles updated, enrolments and roles added or changed, absent members unenrolled.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterator, Sequence

from sqlalchemy import bindparam, delete, func, update

from app.extensions import db
from app.models import (
    AUTH_LTI, Enrolment, LtiIdentity, LtiUser, LtiUserResourceLink, PublishedResource, RoleAssignment, User,
)
from app.models.base import utcnow
from app.models.driver_bulk import insert_many
from app.models.driver_sql import IN_CHUNK, DriverStatement
from app.models.queries.sync import (
    BOUND_IDS as _BOUND_IDS, ENROLMENTS as _ENROLMENTS, LINKED as _LINKED, LTI_USERS as _LTI_USERS, ROLES as _ROLES,
    TAKEN_USERNAMES as _TAKEN_USERNAMES,
)
from app.services.courses import permissions
from app.services.launch import provisioning
from app.services.sync.roster_plan import LinkPlan, PlannedMember

MSG_LIMIT = "Skipping enrolment for member '{id}'. The enrolment limits of this resource do not allow it."
MSG_NO_MEMBERS = "Skipping unenrolment - the platform returned no members."


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start:start + IN_CHUNK]


def _insert(table: Any, rows: list[dict[str, Any]], now: datetime, **shared: Any) -> None:
    """Many rows in one executemany on the driver (app/models/driver_bulk.py); `shared` values (and
    created_at/updated_at) are the same in every row and converted once."""
    insert_many(table, rows, shared={"created_at": now, "updated_at": now, **shared})


def _insert_returning(table: Any, rows: list[dict[str, Any]], key: str, now: datetime,
                      **shared: Any) -> list[tuple[Any, int]]:
    """Insert many rows at once; returns (row[key], new id) pairs without reading the rows back."""
    return insert_many(table, rows, shared={"created_at": now, "updated_at": now, **shared}, returning=(key, "id"))


class LinkWrites:
    """A link's planned writes, in bulk; the caller flushes and commits them together."""

    def __init__(self, plan: LinkPlan) -> None:
        self.plan = plan
        self.run = plan.run
        self.link = plan.link
        self.issuer = plan.issuer
        self.scope = plan.scope
        self.registration_id = plan.registration_id

    def apply(self) -> None:
        self._create_accounts()
        self._bind(self.plan.migrated)
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
        if not self.plan.new_accounts:
            return
        for subject, user_id in self._bound_now(list(self.plan.new_accounts)).items():
            self.plan.members[subject].user_id = user_id
            del self.plan.new_accounts[subject]
        usernames = [account.username for account in self.plan.new_accounts.values()]
        taken = {row[0] for row in _TAKEN_USERNAMES.rows_in_chunks("names", usernames)}
        now = utcnow()
        rows = [{"username": a.username, "first_name": a.profile.first_name, "last_name": a.profile.last_name,
                 "email": a.profile.email} for a in self.plan.new_accounts.values() if a.username not in taken]
        ids = dict(_insert_returning(User.__table__, rows, "username", now, auth_method=AUTH_LTI,
                                     password_hash=None, **self.run.settings.defaults))
        created = {subject: ids[a.username] for subject, a in self.plan.new_accounts.items() if a.username in ids}
        self._bind(created)
        winners = self._bound_now(list(created))
        losers = [user_id for subject, user_id in created.items() if winners.get(subject) != user_id]
        if losers:
            db.session.execute(delete(User).where(User.id.in_(losers)))
        self.run.created += len(created) - len(losers)
        # Accounts only this uncommitted transaction can see: nothing else can reference them yet.
        self.plan.fresh.update(user_id for subject, user_id in created.items() if winners.get(subject) == user_id)
        for subject, account in self.plan.new_accounts.items():
            if account.username in taken:
                resource = db.session.get(PublishedResource, self.run.settings.id)
                winners[subject] = provisioning.create_account(
                    scope=self.scope, issuer=self.issuer, subject=subject, username=account.username,
                    profile=account.profile, resource=resource, registration_id=self.registration_id,
                    allowed=True).id
                self.run.created += 1
            self.plan.members[subject].user_id = winners[subject]

    def _bind(self, accounts: dict[str, int]) -> None:
        if not accounts:
            return
        now = utcnow()
        insert_many(LtiIdentity.__table__, [{"user_id": user_id, "subject": subject}
                                            for subject, user_id in accounts.items()],
                    shared={"scope": self.scope, "issuer": self.issuer, "registration_id": self.registration_id,
                            "created_at": now, "updated_at": now}, ignore_conflicts_on=["scope", "subject"])

    def _update_profiles(self) -> None:
        if not self.plan.profiles:
            return
        db.session.execute(
            update(User.__table__).where(User.__table__.c.id == bindparam("uid")).values(
                first_name=bindparam("first"), last_name=bindparam("last"), email=bindparam("mail"),
                updated_at=bindparam("now")),
            [{"uid": user_id, "first": p.first_name, "last": p.last_name, "mail": p.email, "now": utcnow()}
             for user_id, p in self.plan.profiles.items()])

    def _enrol(self) -> None:
        """LTI user linked to this link, enrolled through the resource with the mapped role at the published
        context; limits apply silently (skipped members are counted)."""
        settings = self.run.settings
        wanted = {m.user_id: m for m in self.plan.members.values() if m.user_id is not None}
        subjects = {m.user_id: s for s, m in self.plan.members.items() if m.user_id is not None}
        if not wanted:
            return
        now = utcnow()
        known = [uid for uid in wanted if uid not in self.plan.fresh]  # a new account has no LTI user or enrolment
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

    def _role(self, member: PlannedMember) -> str:
        return self.run.settings.role_instructor if member.instructor else self.run.settings.role_learner

    def _set_roles(self, enrolments: dict[int, int], wanted: dict[int, PlannedMember]) -> None:
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

    def _add_enrolments(self, user_ids: list[int], wanted: dict[int, PlannedMember], subjects: dict[int, str],
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
        if not self.plan.seen:
            self.run.note(MSG_NO_MEMBERS)
            return
        missing = [row for row in rows if row.subject not in self.plan.seen]
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
