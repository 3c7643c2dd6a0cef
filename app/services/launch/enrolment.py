"""Enrolment through a published resource: the limits, checked before any account is written, then
the enrolment and the mapped role at the published context (launch hot path: see app/models/driver_sql.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.lti.errors import launch_error
from app.models import PublishedResource, User
from app.models.base import utcnow
from app.models.queries.enrolment import (
    CHANGE_ROLE as _CHANGE_ROLE, COUNT as _COUNT, CURRENT as _CURRENT, ENROL as _ENROL, ROLE as _ROLE,
)
from app.models.tools import TARGET_ACTIVITY
from app.services.courses import permissions


@dataclass
class ResourceEnrolment:
    """A user's enrolment through one resource and the role it carries."""

    enrolment_id: int
    time_end: datetime | None
    role_id: int | None
    role: str | None
    activity_id: int | None


def role_activity(resource: Any) -> int | None:
    """Where a launch of `resource` gives its role: the activity it opens, or (None) the course."""
    return resource.activity_id if resource.target == TARGET_ACTIVITY else None


def current(resource: PublishedResource, user_id: int | None) -> ResourceEnrolment | None:
    if user_id is None:
        return None
    row = _CURRENT.first(resource=resource.id, user=user_id, activity=role_activity(resource))
    return ResourceEnrolment(*row) if row else None


_LOOK_UP = ResourceEnrolment(0, None, None, None, None)


def check_limits(resource: PublishedResource, user_id: int | None,
                 known: ResourceEnrolment | None = _LOOK_UP) -> ResourceEnrolment | None:
    """Refuse before anything is written: maximum users, start date, end date, an elapsed enrolment duration.

    `user_id` is None for someone without an account yet (never enrolled). `known`: the user's enrolment through
    the resource (or None), when the caller has just read it. Returns that enrolment, for `enrol`."""
    enrolment = current(resource, user_id) if known is _LOOK_UP else known
    if enrolment is None and resource.max_enrolled > 0:
        if _COUNT.scalar(resource=resource.id) >= resource.max_enrolled:
            raise launch_error("max_users", id=resource.uuid, max=resource.max_enrolled)
    now = utcnow()
    if resource.enrol_start and now < resource.enrol_start:
        raise launch_error("enrolment_not_started", id=resource.uuid, start=resource.enrol_start.isoformat())
    if resource.enrol_end and now > resource.enrol_end:
        raise launch_error("enrolment_finished", id=resource.uuid, end=resource.enrol_end.isoformat())
    if enrolment is not None and enrolment.time_end and now > enrolment.time_end:
        raise launch_error("enrolment_expired", id=resource.uuid, end=enrolment.time_end.isoformat())
    return enrolment


def enrol(user: User, resource: PublishedResource, role: str,
          existing: ResourceEnrolment | None = _LOOK_UP) -> int:
    """Enrol through the resource if not yet (start now, end after the enrolment duration when set), and hold
    `role` at the published course or activity, replacing a different role from an earlier launch. Returns the
    enrolment's id. `existing` is what `check_limits` returned, when the caller has it."""
    user_id = user.id
    if existing is _LOOK_UP:
        existing = current(resource, user_id)
    now = utcnow()
    activity_id = role_activity(resource)
    enrolment_id = existing.enrolment_id if existing else _ENROL.scalar(
        course=resource.course_id, user=user_id, resource=resource.id, now=now,
        end=now + timedelta(seconds=resource.enrol_period) if resource.enrol_period else None)
    if enrolment_id is None:
        # A simultaneous launch enrolled the user first (PostgreSQL lets both get this far; the insert waited for
        # the other transaction): carry on with its enrolment.
        existing = current(resource, user_id)
        assert existing is not None  # the enrolment our insert conflicted with
        enrolment_id = existing.enrolment_id
    if existing is None or existing.role_id is None:
        _ROLE.execute(enrolment=enrolment_id, user=user_id, course=resource.course_id, activity=activity_id,
                      role=role, now=now)
    elif (existing.role, existing.activity_id) != (role, activity_id):
        _CHANGE_ROLE.execute(id=existing.role_id, role=role, activity=activity_id, now=now)
    permissions.forget_roles()
    return enrolment_id
