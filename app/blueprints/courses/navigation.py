"""Course navigation and breadcrumbs shared by every course screen."""
from __future__ import annotations

from flask import url_for
from flask_login import current_user

from app.blueprints.courses.blueprint import bp
from app.models import Activity, Course
from app.services.courses import permissions
from app.services.courses.content import TYPE_LABELS
from app.templating import course_crumbs


def course_nav(course: Course) -> list[tuple[str, str, str]]:
    """The course's own navigation (key, label, href), only with the pages this viewer may open."""
    items = [("course", "Course", url_for("courses.view_course", course_id=course.id))]
    staff = permissions.can_view_staff_pages(current_user, course)
    if permissions.can_manage_course(current_user, course):
        items.append(("participants", "Participants", url_for("courses.participants", course_id=course.id)))
    if staff:
        items.append(("grades", "Grades", url_for("courses.gradebook", course_id=course.id)))
    else:
        items.append(("grades", "Grades", url_for("courses.my_grades", course_id=course.id)))
    if staff:
        items.append(("lti", "Published as LTI tools", url_for("tools.course_tools", course_id=course.id)))
    return items


def activity_crumbs(activity: Activity, *more: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    """Activity-only roles never see the course page, so their trail starts at the activity."""
    own = (activity.name, url_for("courses.view_activity", activity_id=activity.id))
    if permissions.can_view_course(current_user, activity.course):
        return course_crumbs(activity.course, own, *more)
    return [own, *more]


def activity_context(activity: Activity) -> dict:
    """What every activity view shows: who the viewer is here and the page chrome."""
    crumbs = activity_crumbs(activity)
    return {"activity": activity, "course": activity.course, "title": activity.name,
            "student": permissions.is_activity_student(current_user, activity),
            "can_manage": permissions.can_manage_course(current_user, activity.course),
            "breadcrumbs": crumbs[:-1] + [(activity.name, None)]}


@bp.app_context_processor
def course_helpers() -> dict:
    return {"course_nav": course_nav, "activity_type_labels": TYPE_LABELS}
