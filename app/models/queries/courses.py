"""What every course and activity page reads first (the course or activity, the user's roles in the course) and
the completion a page view records."""
from __future__ import annotations

from app.models import Activity, Course
from app.models.driver_sql import DriverStatement, columns_of

COURSE = DriverStatement(f"SELECT {columns_of(Course)} FROM course WHERE id = :id")
ACTIVITY = DriverStatement(f"SELECT {columns_of(Activity)} FROM activity WHERE id = :id")
ROLES = DriverStatement("SELECT activity_id, role FROM role_assignment WHERE user_id = :user AND course_id = :course")
COMPLETE = DriverStatement(
    "INSERT INTO activity_completion (activity_id, user_id, completed_at, created_at, updated_at) "
    "VALUES (:activity, :user, :now, :now, :now) ON CONFLICT (activity_id, user_id) DO NOTHING", times=("now",))
