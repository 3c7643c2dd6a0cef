"""Faults under load, against gunicorn and real sync workers on 127.0.0.1: nothing lost, nothing duplicated, and no
server error, whatever gets killed or restarted. Each test is bounded in users, threads and time."""
from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Enrolment, LtiIdentity, SyncJob, User
from app.models.base import utcnow
from tests.load.stack import Stack, build_stack, no_server_errors

pytestmark = pytest.mark.load


@pytest.fixture
def stack(tmp_path):
    yield from build_stack(tmp_path)


def _job_statuses(stack: Stack) -> Counter:
    with stack.app.app_context():
        return Counter(db.session.execute(db.select(SyncJob.status, SyncJob.last_error)
                                          .where(SyncJob.kind == "grade_push")).all())


def _all_grade_jobs_done(stack: Stack) -> bool:
    return {status for status, _error in _job_statuses(stack)} == {"done"}


def _expire_locks_and_back_off(stack: Stack) -> None:
    """Some minutes later: locks of jobs whose worker died have run out, and so have the retry delays."""
    with stack.app.app_context():
        db.session.execute(update(SyncJob).where(SyncJob.status == "running")
                           .values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.execute(update(SyncJob).where(SyncJob.status == "pending").values(run_after=utcnow()))
        db.session.commit()


def _each_grade_arrives(stack: Stack, given: dict[str, float]) -> None:
    expected = {sub: {value} for sub, value in given.items()}
    stack.wait_for(lambda: stack.grades_by_user() == expected, 60, "every grade reaching the LMS",
                   stack.grades_by_user)
    stack.wait_for(lambda: _all_grade_jobs_done(stack), 30, "every grade job finishing",
                   lambda: _job_statuses(stack))
    assert stack.grades_by_user() == expected


def test_fifty_simultaneous_first_launches_of_one_user_make_one_account(stack):
    stack.start_server()
    statuses = stack.launch_all(["same-person"] * 50, clients=10)

    assert no_server_errors(statuses) == []
    assert all(user[-1] == 200 for user in statuses)  # every browser landed on the activity
    assert (stack.count(User), stack.count(LtiIdentity), stack.count(Enrolment)) == (1, 1, 1)


def test_two_hundred_new_users_while_a_worker_sends_grades_and_processes_get_killed(stack):
    """200 first launches; meanwhile grades are given and sent, a gunicorn worker is killed, and the sync worker is
    killed in the middle of a score request and replaced."""
    stack.start_server(workers=2)
    graded = [f"early-{n}" for n in range(30)]
    assert no_server_errors(stack.launch_all(graded)) == []
    stack.grades.stall(r"/scores$", 1.0, times=2)  # the sync worker is mid-request when it dies
    sync_worker = stack.start_worker()

    def meanwhile() -> None:
        for n, sub in enumerate(graded):
            stack.grade(sub, str(n % 11))
        os.kill(stack.server.children()[0], signal.SIGKILL)  # gunicorn starts a replacement
        stack.wait_for(lambda: len(stack.grades.requests_to(r"/scores$")) >= 1, 30, "the worker's first score")
        sync_worker.kill()
        _expire_locks_and_back_off(stack)
        stack.start_worker()

    side = threading.Thread(target=meanwhile)
    side.start()
    statuses = stack.launch_all([f"new-{n}" for n in range(200)], clients=8)
    side.join(timeout=60)

    assert no_server_errors(statuses) == []
    assert (stack.count(User), stack.count(LtiIdentity)) == (230, 230)
    _each_grade_arrives(stack, {sub: float(n % 11) for n, sub in enumerate(graded)})


def test_a_server_restart_mid_load_while_the_lms_is_down_for_a_while(stack):
    stack.start_server()
    graded = [f"pupil-{n}" for n in range(20)]
    assert no_server_errors(stack.launch_all(graded)) == []
    stack.grades.fail(r"/scores$", 503, times=10 ** 6)  # the LMS is down
    stack.start_worker()
    for n, sub in enumerate(graded):
        stack.grade(sub, str(n % 11))

    def restart() -> None:
        time.sleep(0.3)
        stack.restart_server()

    restarting = threading.Thread(target=restart)
    restarting.start()
    statuses = stack.launch_all([f"during-{n}" for n in range(60)], clients=6)
    restarting.join(timeout=30)
    assert no_server_errors(statuses) == []
    assert stack.count(User) == 80
    stack.wait_for(lambda: len(stack.grades.requests_to(r"/scores$")) >= 5, 30, "the worker trying the LMS")
    assert stack.grades_by_user() == {}
    assert "failed" not in {status for status, _error in _job_statuses(stack)}

    stack.grades.faults.clear()  # back up
    _expire_locks_and_back_off(stack)
    _each_grade_arrives(stack, {sub: float(n % 11) for n, sub in enumerate(graded)})
