"""Content selection: which published resources a teacher may place in the platform that
asked, and the content items for the ones they ticked.

A resource is offered when it is an enabled LTI Advantage resource whose activity still exists, it is available
to the launching registration, and the user holds the course-level Teacher role in its course (site admins: every
course). The same rule filters what comes back from the form, so a forged id is silently dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable

from sqlalchemy import case, or_, select

from app.extensions import db
from app.limits import is_db_int
from app.lti.legacy.cartridge import plain_text
from app.lti.deep_linking import ContentItem
from app.models import Activity, Course, PlatformRegistration, PublishedResource, RoleAssignment, User
from app.models.courses import ROLE_TEACHER
from app.models.tools import LTI_ADVANTAGE, TARGET_COURSE, published_resource_registration
from app.services.errors import ServiceError
from app.services.publishing.resources import resource_display_name
from app.services.publishing.publish_values import AVAILABLE_ALL

MSG_ONE_ITEM = "This platform accepts only one item. Select one resource."


@dataclass(frozen=True)
class Choice:
    """One selectable row: the course itself or one of its activities."""

    resource: PublishedResource
    label: str  # the course full name or the activity name
    score_maximum: Decimal | None  # None: the resource has no grade (a page)

    @property
    def id(self) -> int:
        return self.resource.id

    @property
    def gradable(self) -> bool:
        return self.score_maximum is not None

    @property
    def instance_name(self) -> str | None:
        """The teacher's custom name for this publication, when it differs from the label."""
        return self.resource.name if self.resource.name and self.resource.name != self.label else None


@dataclass
class CourseChoices:
    """A course group: its course resource rows (usually one), then its activity rows by position."""

    course: Course
    course_rows: list[Choice] = field(default_factory=list)
    activity_rows: list[Choice] = field(default_factory=list)

    @property
    def rows(self) -> list[Choice]:
        return [*self.course_rows, *self.activity_rows]


def _choice(resource: PublishedResource) -> Choice:
    if resource.target == TARGET_COURSE:
        return Choice(resource, resource.course.full_name, resource.course.grade_max)
    activity = resource.activity
    return Choice(resource, activity.name, activity.max_grade if activity.is_graded else None)


def choices(user: User, registration: PlatformRegistration) -> list[CourseChoices]:
    """What the Published content page lists for this user and registration, courses ordered by full name."""
    query = (
        select(PublishedResource)
        .join(Course, PublishedResource.course_id == Course.id)
        .outerjoin(Activity, PublishedResource.activity_id == Activity.id)
        .where(PublishedResource.lti_version == LTI_ADVANTAGE, PublishedResource.enabled.is_(True),
               PublishedResource.uuid.is_not(None),
               or_(PublishedResource.target == TARGET_COURSE, Activity.id.is_not(None)),
               or_(PublishedResource.available_to == AVAILABLE_ALL, PublishedResource.id.in_(
                   select(published_resource_registration.c.published_resource_id).where(
                       published_resource_registration.c.registration_id == registration.id))))
        .order_by(Course.full_name, Course.id, case((PublishedResource.target == TARGET_COURSE, 0), else_=1),
                  Activity.position, Activity.id, PublishedResource.id))
    if not user.is_site_admin:
        query = query.where(PublishedResource.course_id.in_(select(RoleAssignment.course_id).where(
            RoleAssignment.user_id == user.id, RoleAssignment.activity_id.is_(None),
            RoleAssignment.role == ROLE_TEACHER)))
    groups: dict[int, CourseChoices] = {}
    for resource in db.session.execute(query).scalars():
        group = groups.setdefault(resource.course_id, CourseChoices(resource.course))
        rows = group.course_rows if resource.target == TARGET_COURSE else group.activity_rows
        rows.append(_choice(resource))
    return list(groups.values())


def _description(resource: PublishedResource) -> str:
    html = resource.course.summary_html if resource.target == TARGET_COURSE else resource.activity.description_html
    return plain_text(html)


def _ids(values: Iterable[str]) -> set[int]:
    return {int(value) for value in values if is_db_int(value)}


def selected_items(user: User, registration: PlatformRegistration, *, course_ids: Iterable[str],
                   gradebook_ids: Iterable[str], accept_multiple: bool) -> list[ContentItem]:
    """The content items for the ticked rows, in the page's order.

    Ids the user may not select are dropped. Ticking "Add to gradebook" implies "Add to course", as the page's
    script does, so a gradebook-only id still adds the resource (with its column). Raises ServiceError when the
    platform accepts one item and several remain.
    """
    to_course, to_gradebook = _ids(course_ids), _ids(gradebook_ids)
    wanted = to_course | to_gradebook
    picked = [row for group in choices(user, registration) for row in group.rows if row.id in wanted]
    if not accept_multiple and len(picked) > 1:
        raise ServiceError(MSG_ONE_ITEM)
    return [ContentItem(uuid=row.resource.uuid or "", title=resource_display_name(row.resource),
                        text=_description(row.resource),
                        score_maximum=row.score_maximum if row.id in to_gradebook else None)
            for row in picked]
