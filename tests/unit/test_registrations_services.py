"""note_unknown_deployment: the one write a refused launch may make."""
from __future__ import annotations

import threading
import time

from app.extensions import db as _db
from app.models import Deployment
from app.services.platforms import registrations as platforms
from tests.factories import make_registration


def test_first_sighting_creates_a_pending_record(db):
    registration = make_registration(deployment_ids=())
    deployment = platforms.note_unknown_deployment(registration, "Dep-X", "Biology 101")
    db.session.commit()
    assert (deployment.deployment_id, deployment.name, deployment.status) == ("Dep-X", "Dep-X", "pending")
    assert deployment.attempts == 1
    assert deployment.first_seen_at == deployment.last_seen_at is not None
    assert deployment.context_title_seen == "Biology 101"


def test_later_sightings_bump_last_seen_and_attempts(db):
    registration = make_registration(deployment_ids=())
    first = platforms.note_unknown_deployment(registration, "dep", "Biology")
    first_seen = first.first_seen_at
    time.sleep(0.01)
    again = platforms.note_unknown_deployment(registration, "dep", None)
    assert again.id == first.id
    assert (again.attempts, again.first_seen_at, again.context_title_seen) == (2, first_seen, "Biology")
    assert again.last_seen_at > first_seen
    third = platforms.note_unknown_deployment(registration, "dep", "Chemistry")
    assert (third.attempts, third.context_title_seen) == (3, "Chemistry")
    assert db.session.query(Deployment).count() == 1


def test_ignored_stays_ignored_and_active_is_untouched(db):
    registration = make_registration(deployment_ids=("live",))
    ignored = platforms.ignore_deployment(platforms.note_unknown_deployment(registration, "noise", None))
    bumped = platforms.note_unknown_deployment(registration, "noise", "Art")
    assert (bumped.id, bumped.status, bumped.attempts) == (ignored.id, "ignored", 2)
    live = platforms.note_unknown_deployment(registration, "live", "Art")
    assert (live.status, live.attempts, live.context_title_seen) == ("active", 0, None)


def test_ids_are_case_sensitive_and_per_registration(db):
    first = make_registration("A", client_id="a", deployment_ids=())
    second = make_registration("B", client_id="b", deployment_ids=())
    ids = {platforms.note_unknown_deployment(first, "dep", None).id,
           platforms.note_unknown_deployment(first, "DEP", None).id,
           platforms.note_unknown_deployment(second, "dep", None).id}
    assert len(ids) == 3


def test_simultaneous_launches_are_all_counted(app, db):
    registration = make_registration(deployment_ids=())
    registration_id = registration.id

    def launch_many() -> None:
        with app.app_context():
            for _ in range(5):
                platforms.note_unknown_deployment(_db.session.get(type(registration), registration_id), "busy", None)
                _db.session.commit()
            _db.session.remove()

    threads = [threading.Thread(target=launch_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.expire_all()
    [deployment] = db.session.query(Deployment).all()
    assert (deployment.status, deployment.attempts) == ("pending", 20)
