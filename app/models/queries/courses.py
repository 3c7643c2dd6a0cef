"""What every course and activity page reads first (the course or activity, the user's roles in the course) and
the completion a page view records."""
from __future__ import annotations

from app.models import Activity, Course
from app.models.driver_sql import DriverStatement, columns_of

COURSE = DriverStatement(f"SELECT {columns_of(Course)} FROM course WHERE id = :id")
# A role counts only while its enrolment lasts: an enrolment that ended (its duration elapsed) or came through a
# resource outside its enrolment dates ("users can access from this date onward / until this date only") gives
# nothing, on every request and not just at launch.
_LASTING_ROLES = (
    "FROM role_assignment r JOIN enrolment e ON e.id = r.enrolment_id "
    "LEFT JOIN published_resource p ON p.id = e.published_resource_id "
    "WHERE r.user_id = :user AND (e.time_end IS NULL OR e.time_end > :now) "
    "AND (p.enrol_end IS NULL OR p.enrol_end > :now) AND (p.enrol_start IS NULL OR p.enrol_start <= :now)")
ROLES = DriverStatement(f"SELECT r.activity_id, r.role {_LASTING_ROLES} AND r.course_id = :course", times=("now",))
# An activity page shows its course too, checks the viewer's roles in the course, and a page view asks whether the
# viewer completed it: one statement, a row per role (one with NULL role columns for none).
ACTIVITY = DriverStatement(
    f"SELECT {columns_of(Activity, 'a')}, {columns_of(Course, 'c')}, "
    "EXISTS (SELECT 1 FROM activity_completion m WHERE m.activity_id = a.id AND m.user_id = :user) AS completed, "
    "v.activity_id AS role_activity_id, v.role "
    "FROM activity a JOIN course c ON c.id = a.course_id "
    f"LEFT JOIN (SELECT r.course_id, r.activity_id, r.role {_LASTING_ROLES}) v ON v.course_id = c.id "
    "WHERE a.id = :id", times=("now",))
COMPLETED = DriverStatement("SELECT 1 FROM activity_completion WHERE activity_id = :activity AND user_id = :user")
COMPLETE = DriverStatement(
    "INSERT INTO activity_completion (activity_id, user_id, completed_at, created_at, updated_at) "
    "VALUES (:activity, :user, :now, :now, :now) ON CONFLICT (activity_id, user_id) DO NOTHING", times=("now",))
