"""What a successful launch leaves behind: the platform context and resource link with their grade
and roster service endpoints, the LTI user and its link, learned frame origins, last-seen times (and a migrated
platform's legacy consumer key).

Service endpoints are overwritten by each launch that carries them and kept when a launch omits them, so a
platform that sends them only on some launches does not lose grade or roster sync. Every record is one UPSERT
(app/models/driver_sql.py explains why these are hand-written).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.lti.launch_data import LaunchData
from app.models.base import utcnow
from app.models.driver_sql import DriverStatement
from app.services.platforms.framing import learn_origin

# A proven lti1p1 migration claim also stores its LTI 1.1 consumer key, and the identity scope of the key and
# secret that proved it, on the deployment.
_DEPLOYMENT_SEEN = DriverStatement("UPDATE deployment SET last_seen_at = :now, updated_at = :now, "
                                   "legacy_consumer_key = COALESCE(:legacy_key, legacy_consumer_key), "
                                   "legacy_scope = COALESCE(:legacy_scope, legacy_scope) WHERE id = :id",
                                   times=("now",))
_REGISTRATION_SEEN = DriverStatement("UPDATE platform_registration SET last_launch_at = :now, updated_at = :now "
                                     "WHERE id = :id", times=("now",))
# "Last launch" and "last seen" are shown to the minute: under a burst of launches they are not rewritten by every
# one of them (each rewrite is a write on a row every launch of the platform shares).
SEEN_PRECISION = timedelta(minutes=1)
_LEARN_ORIGIN = DriverStatement("UPDATE platform_registration SET frame_origins = :origins WHERE id = :id",
                                json=("origins",))
_CONTEXT = DriverStatement(
    "INSERT INTO lti_context (deployment_id, context_id, types, title, label, created_at, updated_at) "
    "VALUES (:deployment, :context_id, :types, :title, :label, :now, :now) "
    "ON CONFLICT (deployment_id, context_id) DO UPDATE SET types = excluded.types, title = excluded.title, "
    "label = excluded.label, updated_at = excluded.updated_at RETURNING id", times=("now",), json=("types",))
# On conflict every right-hand side reads the row as it was: a link repointed to another resource forgets the
# line item found for the old one, and AGS/NRPS values change only when this launch carried them.
_RESOURCE_LINK = DriverStatement(
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
_LTI_USER = DriverStatement(
    "INSERT INTO lti_user (user_id, published_resource_id, deployment_id, subject, last_access_at, created_at, "
    "updated_at) VALUES (:user, :resource, :deployment, :subject, :now, :now, :now) "
    "ON CONFLICT (published_resource_id, user_id) DO UPDATE SET deployment_id = excluded.deployment_id, "
    "subject = excluded.subject, last_access_at = excluded.last_access_at, updated_at = excluded.updated_at "
    "RETURNING id", times=("now",))
_USER_LINK = DriverStatement(
    "INSERT INTO lti_user_resource_link (lti_user_id, resource_link_id, created_at, updated_at) "
    "VALUES (:lti_user, :link, :now, :now) ON CONFLICT (lti_user_id, resource_link_id) DO NOTHING",
    times=("now",))


def _stale(seen: datetime | None, now: datetime) -> bool:
    return seen is None or now - seen >= SEEN_PRECISION


def record_launch(launch: LaunchData, registration: Any, resource_id: int, user_id: int) -> int | None:
    """Upsert the context, resource link and LTI user a launch leaves behind, in the caller's transaction; returns the resource link's id.

    `registration` is the launch's registration row (id, frame_origins, and when read: last_launch_at and its
    deployment's last_seen_at as deployment_seen_at)."""
    now = utcnow()
    legacy_key = launch.lti1p1["oauth_consumer_key"] if launch.lti1p1 else None
    if legacy_key or _stale(getattr(registration, "deployment_seen_at", None), now):
        _DEPLOYMENT_SEEN.execute(id=launch.deployment_pk, now=now, legacy_key=legacy_key,
                                 legacy_scope=launch.lti1p1["scope"] if launch.lti1p1 else None)
    if _stale(getattr(registration, "last_launch_at", None), now):
        _REGISTRATION_SEEN.execute(id=registration.id, now=now)
    learned = learn_origin(registration.frame_origins, launch.return_url)
    if learned is not None:
        _LEARN_ORIGIN.execute(id=registration.id, origins=learned)
    context_id = None
    if launch.context is not None:
        context_id = _CONTEXT.scalar(deployment=launch.deployment_pk, context_id=launch.context["id"],
                                     types=launch.context["types"], title=launch.context["title"],
                                     label=launch.context["label"], now=now)
    link_id = None
    if launch.resource_link is not None:
        ags = launch.ags if launch.ags and (launch.ags["lineitems"] or launch.ags["lineitem"]) else None
        nrps = launch.nrps
        link_id = _RESOURCE_LINK.scalar(
            deployment=launch.deployment_pk, link_id=launch.resource_link["id"], resource=resource_id,
            context=context_id, title=launch.resource_link["title"], has_ags=ags is not None,
            lineitems=ags["lineitems"] if ags else None, lineitem=ags["lineitem"] if ags else None,
            scopes=ags["scopes"] if ags else [], has_nrps=nrps is not None,
            memberships=nrps["context_memberships_url"] if nrps else None,
            versions=nrps["service_versions"] if nrps else [], now=now)
    lti_user_id = _LTI_USER.scalar(user=user_id, resource=resource_id, deployment=launch.deployment_pk,
                                   subject=launch.subject, now=now)
    if link_id is not None:
        _USER_LINK.execute(lti_user=lti_user_id, link=link_id, now=now)
    return link_id
