"""Enrolment through a published resource and the role it carries."""
from __future__ import annotations

from app.models.driver_sql import DriverStatement

# A launch enrolment carries one role row, at the resource's activity (or the course); should it carry another too
# (the resource once opened another activity), the one at the resource's own target comes first: it is the row a
# launch updates, and updating the other one onto the same target would collide with it.
# `:activity` is the resource's activity (NULL for a course).
LAUNCH_ROLE_FIRST = ("ORDER BY CASE WHEN COALESCE(r.activity_id, 0) = COALESCE(:activity, 0) THEN 0 ELSE 1 END, "
                     "r.id LIMIT 1")
CURRENT = DriverStatement(
    "SELECT e.id AS enrolment_id, e.time_end, r.id AS role_id, r.role, r.activity_id FROM enrolment e "
    "LEFT JOIN role_assignment r ON r.enrolment_id = e.id "
    f"WHERE e.published_resource_id = :resource AND e.user_id = :user {LAUNCH_ROLE_FIRST}",
    result_times=("time_end",))
COUNT = DriverStatement("SELECT count(*) FROM enrolment WHERE published_resource_id = :resource")
ENROL = DriverStatement(
    "INSERT INTO enrolment (course_id, user_id, published_resource_id, time_start, time_end, created_at, "
    "updated_at) VALUES (:course, :user, :resource, :now, :end, :now, :now) "
    "ON CONFLICT (published_resource_id, user_id) DO NOTHING RETURNING id", times=("now", "end"))
ROLE = DriverStatement(
    "INSERT INTO role_assignment (enrolment_id, user_id, course_id, activity_id, role, created_at, updated_at) "
    "VALUES (:enrolment, :user, :course, :activity, :role, :now, :now)", times=("now",))
CHANGE_ROLE = DriverStatement("UPDATE role_assignment SET role = :role, activity_id = :activity, updated_at = :now "
                              "WHERE id = :id", times=("now",))
