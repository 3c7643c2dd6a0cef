"""Home page and the monitoring endpoint."""
from flask import Blueprint, jsonify, render_template
from flask_login import current_user, login_required

from app.models.courses import ROLE_LABELS, ROLE_STUDENT
from app.services.courses import completion
from app.services.courses.enrolments import my_courses
from app.services.platforms.getting_started import getting_started

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def index():
    """The "My courses" dashboard: the user's courses (with completion for students) and activity-only roles;
    for a site admin, the Getting started checklist first."""
    courses, activities = my_courses(current_user)
    complete = {mine.course.id for mine in courses
                if mine.role == ROLE_STUDENT and completion.is_course_complete(mine.course, current_user)}
    return render_template("main/index.html", title="My courses", courses=courses, activities=activities,
                           complete=complete, role_labels=ROLE_LABELS, student_role=ROLE_STUDENT,
                           getting_started=getting_started() if current_user.is_site_admin else None)


@bp.get("/health")
def health():
    return jsonify({"status": "ok"})
