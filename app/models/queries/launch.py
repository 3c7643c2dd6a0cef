"""A resource launch: the registration, deployment and published resource it checks, and the records it leaves
(context, resource link, LTI user, last-seen times, learned frame origins)."""
from __future__ import annotations

from app.models import User
from app.models.driver_sql import DriverStatement, columns_of
from app.models.queries.enrolment import LAUNCH_ROLE_FIRST

USABLE = DriverStatement(
    "SELECT r.id, r.name, r.issuer, r.client_id, r.status, r.frame_origins, r.last_launch_at, "
    "d.status AS deployment_status, d.last_seen_at AS deployment_seen_at "
    "FROM platform_registration r LEFT JOIN deployment d ON d.id = :deployment AND d.registration_id = r.id "
    "WHERE r.id = :registration", result_json=("frame_origins",),
    result_times=("last_launch_at", "deployment_seen_at"))
RESOURCE = DriverStatement(
    "SELECT id, uuid, course_id, activity_id, target, enabled, available_to, max_enrolled, enrol_start, enrol_end, "
    "enrol_period, role_instructor, role_learner, provisioning_mode_instructor, provisioning_mode_learner, "
    "email_visibility, city, country, timezone, lang, institution, "
    "(target = 'activity' AND activity_id IS NULL) AS activity_deleted "
    "FROM published_resource WHERE uuid = :uuid AND lti_version = :version",
    result_times=("enrol_start", "enrol_end"))
# Canvas's course navigation can send only a resource link launch, without custom parameters: it opens the course
# already linked in the same platform course (at most two are read: the caller needs to know if there is one).
LINKED_COURSES = DriverStatement(
    "SELECT DISTINCT p.uuid FROM resource_link l JOIN lti_context c ON c.id = l.lti_context_id "
    "JOIN published_resource p ON p.id = l.published_resource_id "
    "WHERE l.deployment_id = :deployment AND c.deployment_id = :deployment AND c.context_id = :context "
    "AND p.target = :course AND p.lti_version = :version LIMIT 2")
AVAILABLE_TO = DriverStatement("SELECT 1 FROM published_resource_registration "
                               "WHERE published_resource_id = :resource AND registration_id = :registration")

# A proven lti1p1 migration claim also stores its LTI 1.1 consumer key, and the identity scope of the key and
# secret that proved it, on the deployment.
DEPLOYMENT_SEEN = DriverStatement("UPDATE deployment SET last_seen_at = :now, updated_at = :now, "
                                  "legacy_consumer_key = COALESCE(:legacy_key, legacy_consumer_key), "
                                  "legacy_scope = COALESCE(:legacy_scope, legacy_scope) WHERE id = :id",
                                  times=("now",))
REGISTRATION_SEEN = DriverStatement("UPDATE platform_registration SET last_launch_at = :now, updated_at = :now "
                                    "WHERE id = :id", times=("now",))
LEARN_ORIGIN = DriverStatement("UPDATE platform_registration SET frame_origins = :origins WHERE id = :id",
                               json=("origins",))
CONTEXT = DriverStatement(
    "INSERT INTO lti_context (deployment_id, context_id, types, title, label, created_at, updated_at) "
    "VALUES (:deployment, :context_id, :types, :title, :label, :now, :now) "
    "ON CONFLICT (deployment_id, context_id) DO UPDATE SET types = excluded.types, title = excluded.title, "
    "label = excluded.label, updated_at = excluded.updated_at RETURNING id", times=("now",), json=("types",))
# On conflict every right-hand side reads the row as it was: a link repointed to another resource forgets the
# line item found for the old one, and AGS/NRPS values change only when this launch carried them.
RESOURCE_LINK = DriverStatement(
    "INSERT INTO resource_link (deployment_id, resource_link_id, published_resource_id, lti_context_id, title, "
    "ags_lineitems_url, ags_lineitem_url, ags_scopes, nrps_memberships_url, nrps_versions, created_at, updated_at) "
    "VALUES (:deployment, :link_id, :resource, :context, :title, :lineitems, :lineitem, :scopes, :memberships, "
    ":versions, :now, :now) "
    "ON CONFLICT (deployment_id, resource_link_id) DO UPDATE SET "
    "cached_lineitem_url = CASE WHEN resource_link.published_resource_id = excluded.published_resource_id "
    "THEN resource_link.cached_lineitem_url END, "
    "published_resource_id = excluded.published_resource_id, lti_context_id = excluded.lti_context_id, "
    "title = excluded.title, "
    "ags_lineitems_url = CASE WHEN :has_ags THEN excluded.ags_lineitems_url ELSE resource_link.ags_lineitems_url END, "
    "ags_lineitem_url = CASE WHEN :has_ags THEN excluded.ags_lineitem_url ELSE resource_link.ags_lineitem_url END, "
    "ags_scopes = CASE WHEN :has_ags THEN excluded.ags_scopes ELSE resource_link.ags_scopes END, "
    "nrps_memberships_url = CASE WHEN :has_nrps THEN excluded.nrps_memberships_url "
    "ELSE resource_link.nrps_memberships_url END, "
    "nrps_versions = CASE WHEN :has_nrps THEN excluded.nrps_versions ELSE resource_link.nrps_versions END, "
    "updated_at = excluded.updated_at RETURNING id", times=("now",), json=("scopes", "versions"))
LTI_USER = DriverStatement(
    "INSERT INTO lti_user (user_id, published_resource_id, deployment_id, subject, last_access_at, created_at, "
    "updated_at) VALUES (:user, :resource, :deployment, :subject, :now, :now, :now) "
    "ON CONFLICT (published_resource_id, user_id) DO UPDATE SET deployment_id = excluded.deployment_id, "
    "subject = excluded.subject, last_access_at = excluded.last_access_at, updated_at = excluded.updated_at "
    "RETURNING id", times=("now",))
USER_LINK = DriverStatement(
    "INSERT INTO lti_user_resource_link (lti_user_id, resource_link_id, created_at, updated_at) "
    "VALUES (:lti_user, :link, :now, :now) ON CONFLICT (lti_user_id, resource_link_id) DO NOTHING",
    times=("now",))

# The account bound to the identity (NULL columns when it is not bound yet), its enrolment through the resource
# (with the role it carries), and what earlier launches recorded for this context, link and user, so that a launch
# writes only what changed (app/services/launch/records.py). Always one row (LIMIT 1: see LAUNCH_ROLE_FIRST).
RETURNING = DriverStatement(
    f"SELECT {columns_of(User, 'u')}, e.id AS enrolment_id, e.time_end, r.id AS role_id, r.role, r.activity_id, "
    "lu.id AS lti_user_id, lu.deployment_id AS lti_user_deployment, lu.subject AS lti_user_subject, "
    "lu.last_access_at, c.id AS context_pk, c.types AS context_types, c.title AS context_title, "
    "c.label AS context_label, l.id AS link_pk, l.published_resource_id AS link_resource, "
    "l.lti_context_id AS link_context, l.title AS link_title, l.ags_lineitems_url, l.ags_lineitem_url, "
    "l.ags_scopes, l.nrps_memberships_url, l.nrps_versions, ul.id AS user_link_id "
    "FROM (SELECT 1 AS one) AS launch "
    "LEFT JOIN lti_identity i ON i.scope = :scope AND i.subject = :subject "
    'LEFT JOIN "user" u ON u.id = i.user_id '
    "LEFT JOIN enrolment e ON e.published_resource_id = :resource AND e.user_id = u.id "
    "LEFT JOIN role_assignment r ON r.enrolment_id = e.id "
    "LEFT JOIN lti_user lu ON lu.published_resource_id = :resource AND lu.user_id = u.id "
    "LEFT JOIN lti_context c ON c.deployment_id = :deployment AND c.context_id = :context "
    "LEFT JOIN resource_link l ON l.deployment_id = :deployment AND l.resource_link_id = :link "
    "LEFT JOIN lti_user_resource_link ul ON ul.lti_user_id = lu.id AND ul.resource_link_id = l.id "
    + LAUNCH_ROLE_FIRST,
    result_times=("time_end", "last_access_at"), result_json=("context_types", "ags_scopes", "nrps_versions"))
