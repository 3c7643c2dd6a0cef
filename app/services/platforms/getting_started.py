"""The site admin's Getting started panel: what is set up so far, one step at a time, read from the database
and the configuration. Reads only."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import LaunchLog, PlatformRegistration, PublishedResource
from app.models.platforms import STATUS_ACTIVE
from app.services.launch import log as launch_log
from app.services.platforms.site_address import SiteAddress, site_address
from app.services.sync.status import worker_silence_minutes

STEP_ADDRESS = "address"
STEP_REGISTER = "register"
STEP_PUBLISH = "publish"
STEP_LAUNCH = "launch"
STEP_WORKER = "worker"
LAUNCH_KINDS = (launch_log.KIND_LAUNCH, launch_log.KIND_LTI11_LAUNCH)


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    state: str


@dataclass(frozen=True)
class GettingStarted:
    address: SiteAddress
    steps: list[Step]

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def complete(self) -> bool:
        return self.done_count == len(self.steps)


def _count(statement) -> int:
    return db.session.execute(statement).scalar() or 0


def _counted(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _address_step(address: SiteAddress) -> Step:
    if address.usable:
        state = f"Platforms reach this site at {address.url}."
    elif address.loopback:
        state = f"{address.url} is a loopback address: no LMS on another machine can reach it."
    else:
        state = f"{address.url} is plain http: LTI 1.3 platforms require https."
    return Step(STEP_ADDRESS, "Public address over https", address.usable, state)


def _counted_step(key: str, title: str, done: tuple[int, str, str], waiting: tuple[int, str], nothing: str) -> Step:
    """Done once `done`'s count is above zero; until then it tells what is waiting, or that nothing happened."""
    (count, singular, plural), (waiting_count, waiting_text) = done, waiting
    if count:
        state = f"{_counted(count, singular, plural)}."
    elif waiting_count:
        state = waiting_text
    else:
        state = nothing
    return Step(key, title, bool(count), state)


def _register_step() -> Step:
    active = _count(select(func.count(PlatformRegistration.id)).where(PlatformRegistration.status == STATUS_ACTIVE))
    waiting = _count(select(func.count(PlatformRegistration.id)).where(PlatformRegistration.status != STATUS_ACTIVE))
    return _counted_step(
        STEP_REGISTER, "Register a platform", (active, "active registration", "active registrations"),
        (waiting, f"{_counted(waiting, 'registration', 'registrations')} still waiting for the platform's details."),
        "No platform is registered yet.")


def _publish_step() -> Step:
    published = _count(select(func.count(PublishedResource.id)).where(PublishedResource.enabled.is_(True)))
    return _counted_step(STEP_PUBLISH, "Publish a course or activity",
                         (published, "published resource", "published resources"), (0, ""),
                         "No course or activity is published as an LTI tool yet.")


def _launch_step() -> Step:
    launched = _count(select(func.count(LaunchLog.id)).where(
        LaunchLog.kind.in_(LAUNCH_KINDS), LaunchLog.outcome == launch_log.SUCCESS))
    failed = _count(select(func.count(LaunchLog.id)).where(LaunchLog.outcome != launch_log.SUCCESS))
    return _counted_step(
        STEP_LAUNCH, "First successful launch", (launched, "successful launch", "successful launches"),
        (failed, f"No successful launch yet; {_counted(failed, 'failed attempt', 'failed attempts')} in the launch log."),
        "No launch yet: add the tool to a course in the LMS and open it.")


def _worker_step() -> Step:
    silent = worker_silence_minutes()
    state = ("The worker is running." if silent is None
             else f"No worker has run in the last {silent} minutes. Start one with: flask --app wsgi lti worker")
    return Step(STEP_WORKER, "Synchronisation worker running", silent is None, state)


def getting_started() -> GettingStarted:
    address = site_address()
    return GettingStarted(address=address, steps=[
        _address_step(address), _register_step(), _publish_step(), _launch_step(), _worker_step()])
