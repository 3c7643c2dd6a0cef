"""Legacy LTI (1.1/2.0) records: consumers seen or registered, what the cartridge and tool proxy describe.

Consumers learned from launches, cartridges, LTI 2 tool proxies and the admin list. Services flush, never commit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app

from app.extensions import db
from app.lti.legacy.cartridge import CartridgeValues, plain_text
from app.lti.launch_data import LaunchData
from app.lti.legacy.tool_proxy import Registered, ToolDescription
from app.models import Lti11Consumer, PublishedResource
from app.models.base import utcnow
from app.models.tools import TARGET_COURSE
from app.services.platforms.framing import learn_origin
from app.services.publishing.resources import resource_display_name

LTI2 = "LTI-2p0"


@dataclass
class ConsumerResource:
    id: int
    name: str
    course_id: int


@dataclass
class ConsumerSummary:
    """One consumer key as the admin sees it: the latest name/GUID/version it sent, every resource it uses."""

    consumer_key: str
    name: str
    guid: str
    version: str
    lti_version: str
    last_access_at: datetime | None
    resources: list[ConsumerResource] = field(default_factory=list)


def _description(resource: PublishedResource) -> str:
    if resource.target == TARGET_COURSE:
        return plain_text(resource.course.summary_html)
    return plain_text(resource.activity.description_html) if resource.activity is not None else ""


def cartridge_values(resource: PublishedResource) -> CartridgeValues:
    config = current_app.config
    base = config["COURSEPORT_BASE_URL"]
    return CartridgeValues(
        title=resource_display_name(resource), description=_description(resource),
        launch_url=f"{base}/lti/v1/launch/{resource.id}", icon_url=f"{base}/static/favicon.ico",
        vendor_code=config["SITE_SHORT_NAME"], vendor_name=config["SITE_NAME"],
        vendor_description=config["SITE_DESCRIPTION"], vendor_url=f"{base}/")


def tool_description(resource: PublishedResource) -> ToolDescription:
    config = current_app.config
    return ToolDescription(
        base_url=config["COURSEPORT_BASE_URL"], tool_id=resource.id, product_code=resource.legacy_token or "",
        name=resource_display_name(resource), description=_description(resource),
        vendor_code=config["SITE_SHORT_NAME"], vendor_name=config["SITE_NAME"], member_sync=resource.member_sync)


def _consumer(resource_id: int, consumer_key: str) -> Lti11Consumer | None:
    return db.session.execute(db.select(Lti11Consumer).where(
        Lti11Consumer.published_resource_id == resource_id,
        Lti11Consumer.consumer_key == consumer_key)).scalar_one_or_none()


def record_consumer(launch: LaunchData) -> Lti11Consumer:
    """Upsert by (resource, key), and learn the origin of the return URL as a frame ancestor.

    Values the launch omits are kept; the secret is never touched, so one resource's secret can never end up
    on another's consumer."""
    legacy = launch.legacy or {}
    consumer = _consumer(launch.resource_id or 0, legacy["consumer_key"])
    if consumer is None:
        consumer = Lti11Consumer(published_resource_id=launch.resource_id, consumer_key=legacy["consumer_key"],
                                 lti_version=legacy["lti_version"], frame_origins=[])
        db.session.add(consumer)
    for column, value, limit in (("name", legacy.get("consumer_name"), 1024),
                                 ("guid", legacy.get("consumer_guid"), 1024),
                                 ("version", legacy.get("consumer_version"), 255)):
        if value and getattr(consumer, column) != value[:limit]:
            setattr(consumer, column, value[:limit])
    learned = learn_origin(consumer.frame_origins, launch.return_url)
    if learned is not None:
        consumer.frame_origins = learned
    consumer.last_access_at = utcnow()
    db.session.flush()
    return consumer


def save_registered_consumer(resource: PublishedResource, registered: Registered) -> Lti11Consumer:
    """The tool proxy GUID becomes the consumer key, with the shared secret we generated."""
    consumer = _consumer(resource.id, registered.tool_proxy_guid)
    if consumer is None:
        consumer = Lti11Consumer(published_resource_id=resource.id, consumer_key=registered.tool_proxy_guid)
        db.session.add(consumer)
    consumer.secret = registered.shared_secret
    consumer.lti_version = LTI2
    consumer.name = registered.consumer_name[:1024]
    consumer.version = registered.consumer_version[:255]
    consumer.guid = registered.consumer_guid[:1024]
    consumer.profile = registered.profile
    consumer.tool_proxy = registered.tool_proxy
    db.session.flush()
    return consumer


def consumers_overview() -> list[ConsumerSummary]:
    """Every consumer key seen or registered, newest details first within a key, keys in alphabetical order."""
    rows = db.session.execute(
        db.select(Lti11Consumer, PublishedResource).join(
            PublishedResource, PublishedResource.id == Lti11Consumer.published_resource_id)
        .order_by(Lti11Consumer.consumer_key, Lti11Consumer.last_access_at.desc().nulls_last(),
                  Lti11Consumer.id.desc())).all()
    summaries: dict[str, ConsumerSummary] = {}
    for consumer, resource in rows:
        summary = summaries.get(consumer.consumer_key)
        if summary is None:
            summary = summaries[consumer.consumer_key] = ConsumerSummary(
                consumer_key=consumer.consumer_key, name=consumer.name, guid=consumer.guid,
                version=consumer.version, lti_version=consumer.lti_version, last_access_at=consumer.last_access_at)
        summary.resources.append(ConsumerResource(id=resource.id, name=resource_display_name(resource),
                                                  course_id=resource.course_id))
    return list(summaries.values())
