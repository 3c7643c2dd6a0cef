"""Grade and member sync: the per-score writes of a grade sync, and the reads a member sync's plan makes per page
or per chunk of members (its bulk inserts go through driver_bulk.insert_many)."""
from __future__ import annotations

from app.models.driver_sql import DriverStatement

INSERT_LOG = DriverStatement(
    "INSERT INTO grade_sync_log (published_resource_id, user_id, resource_link_id, grade, grade_max, outcome, "
    "http_status, response_excerpt, message, at) VALUES (:published_resource_id, :user_id, :resource_link_id, "
    ":grade, :grade_max, :outcome, :http_status, :response_excerpt, :message, :at)",
    times=("at",), numbers=("grade", "grade_max"))
MARK_SENT = DriverStatement(
    "UPDATE lti_user_resource_link SET last_grade_sent = :grade, last_sent_at = :now, "
    "last_score_timestamp = :stamp, updated_at = :now WHERE id = :row_id",
    times=("now", "stamp"), numbers=("grade",))

BOUND_ACCOUNTS = DriverStatement(
    'SELECT i.subject, u.id, u.username, u.auth_method, u.first_name, u.last_name, u.email FROM lti_identity i '
    'JOIN "user" u ON u.id = i.user_id WHERE i.scope = :scope AND i.subject IN :subjects',
    expanding=("subjects",))
BOUND_IDS = DriverStatement(
    "SELECT subject, user_id FROM lti_identity WHERE scope = :scope AND subject IN :subjects",
    expanding=("subjects",))
TAKEN_USERNAMES = DriverStatement('SELECT username FROM "user" WHERE username IN :names', expanding=("names",))
LTI_USERS = DriverStatement(
    "SELECT user_id, id FROM lti_user WHERE published_resource_id = :resource AND user_id IN :ids",
    expanding=("ids",))
ENROLMENTS = DriverStatement(
    "SELECT user_id, id FROM enrolment WHERE published_resource_id = :resource AND user_id IN :ids",
    expanding=("ids",))
LINKED = DriverStatement(
    "SELECT lti_user_id FROM lti_user_resource_link WHERE resource_link_id = :link AND lti_user_id IN :ids",
    expanding=("ids",))
ROLES = DriverStatement(
    "SELECT id, enrolment_id, role, activity_id FROM role_assignment WHERE enrolment_id IN :ids", expanding=("ids",))
