"""COURSEPORT_JOBS_INLINE (config JOBS_INLINE): one worker thread in the development server only."""
from __future__ import annotations

import threading
import time

import requests

from app.extensions import db
from app.models import ScheduledRun
from tests.conftest import make_app
from tests.helpers import LiveServer, free_port


def _inline_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "courseport-jobs"]


def test_the_dev_server_starts_one_worker_thread_on_its_first_request(tmp_path):
    port = free_port()
    app = make_app(tmp_path, JOBS_INLINE=True, TESTING=False, COURSEPORT_BASE_URL=f"http://127.0.0.1:{port}")
    assert _inline_threads() == []  # loading the app (as every CLI command does) starts nothing
    server = LiveServer(app, port).start()
    try:
        for _ in range(3):
            assert requests.get(f"{server.url}/health", timeout=5).status_code == 200
        assert len(_inline_threads()) == 1
        with app.app_context():
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not db.session.execute(
                    db.select(ScheduledRun.heartbeat_at)).scalars().first():
                db.session.remove()
                time.sleep(0.1)
            assert db.session.execute(db.select(ScheduledRun.heartbeat_at)).scalars().first() is not None
            db.session.remove()
    finally:
        server.stop()
        app.extensions["courseport_inline_worker_stop"].set()
        for thread in _inline_threads():
            thread.join(timeout=10)
    assert _inline_threads() == []


def test_no_worker_thread_when_testing_or_not_asked_for(tmp_path):
    for number, overrides in enumerate(({"JOBS_INLINE": True}, {"JOBS_INLINE": False, "TESTING": False})):
        folder = tmp_path / str(number)
        folder.mkdir()
        app = make_app(folder, **overrides)
        assert not any(hook.__name__ == "start_inline_worker" for hook in app.before_request_funcs.get(None, []))
