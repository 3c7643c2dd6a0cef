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
from app.lti.tool_config import note_learned_origins
from app.models.base import utcnow
from app.models.queries.launch import (
    CONTEXT as _CONTEXT, DEPLOYMENT_SEEN as _DEPLOYMENT_SEEN, LEARN_ORIGIN as _LEARN_ORIGIN, LTI_USER as _LTI_USER,
    REGISTRATION_SEEN as _REGISTRATION_SEEN, RESOURCE_LINK as _RESOURCE_LINK, USER_LINK as _USER_LINK,
)
from app.services.platforms.framing import learn_origin

# "Last launch" and "last seen" are shown to the minute: under a burst of launches they are not rewritten by every
# one of them (each rewrite is a write on a row every launch of the platform shares).
SEEN_PRECISION = timedelta(minutes=1)


def _stale(seen: datetime | None, now: datetime) -> bool:
    return seen is None or now - seen >= SEEN_PRECISION


def _same_context(known: Any, launch: LaunchData) -> bool:
    context = launch.context
    assert context is not None
    return known is not None and known.context_pk is not None and (
        known.context_types, known.context_title, known.context_label) == (
        context["types"], context["title"], context["label"])


def _same_link(known: Any, launch: LaunchData, resource_id: int, context_id: int | None, ags: Any, nrps: Any) -> bool:
    """The resource link as the upsert would leave it: service endpoints change only when the launch carries them."""
    link = launch.resource_link
    assert link is not None
    return known is not None and known.link_pk is not None and (
        known.link_resource, known.link_context, known.link_title) == (resource_id, context_id, link["title"]) and (
        ags is None or (known.ags_lineitems_url, known.ags_lineitem_url, known.ags_scopes) == (
            ags["lineitems"], ags["lineitem"], ags["scopes"])) and (
        nrps is None or (known.nrps_memberships_url, known.nrps_versions) == (
            nrps["context_memberships_url"], nrps["service_versions"]))


def record_launch(launch: LaunchData, registration: Any, resource_id: int, user_id: int, known: Any = None,
                  known_user: bool = False) -> int | None:
    """Upsert the context, resource link and LTI user a launch leaves behind, in the caller's transaction; returns
    the resource link's id.

    `registration` is the launch's registration row (id, frame_origins, and when read: last_launch_at and its
    deployment's last_seen_at as deployment_seen_at). `known`: what earlier launches recorded for this context and
    link, and (`known_user`) for this user (a `RETURNING` row of app/models/queries/launch.py); a record that would
    not change is not written again, and the LTI user's last access only when stale, like the other last-seen
    times."""
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
        note_learned_origins(registration.id, learned)
    context_id = None
    if launch.context is not None and _same_context(known, launch):
        context_id = known.context_pk
    elif launch.context is not None:
        context_id = _CONTEXT.scalar(deployment=launch.deployment_pk, context_id=launch.context["id"],
                                     types=launch.context["types"], title=launch.context["title"],
                                     label=launch.context["label"], now=now)
    link_id = None
    if launch.resource_link is not None:
        ags = launch.ags if launch.ags and (launch.ags["lineitems"] or launch.ags["lineitem"]) else None
        nrps = launch.nrps
        if _same_link(known, launch, resource_id, context_id, ags, nrps):
            link_id = known.link_pk
        else:
            link_id = _RESOURCE_LINK.scalar(
                deployment=launch.deployment_pk, link_id=launch.resource_link["id"], resource=resource_id,
                context=context_id, title=launch.resource_link["title"], has_ags=ags is not None,
                lineitems=ags["lineitems"] if ags else None, lineitem=ags["lineitem"] if ags else None,
                scopes=ags["scopes"] if ags else [], has_nrps=nrps is not None,
                memberships=nrps["context_memberships_url"] if nrps else None,
                versions=nrps["service_versions"] if nrps else [], now=now)
    if known_user and known.lti_user_id is not None and not _stale(known.last_access_at, now) and (
            known.lti_user_deployment, known.lti_user_subject) == (launch.deployment_pk, launch.subject):
        lti_user_id = known.lti_user_id
    else:
        lti_user_id = _LTI_USER.scalar(user=user_id, resource=resource_id, deployment=launch.deployment_pk,
                                       subject=launch.subject, now=now)
    if link_id is not None and not (known_user and known.user_link_id is not None and
                                    (known.lti_user_id, known.link_pk) == (lti_user_id, link_id)):
        _USER_LINK.execute(lti_user=lti_user_id, link=link_id, now=now)
    return link_id
