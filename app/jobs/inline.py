"""Development only: with COURSEPORT_JOBS_INLINE=1, `flask --app wsgi run` also runs one worker thread.

It starts on the first request served by Werkzeug's development server, so loading the app for a CLI command
(or under gunicorn, where SERVER_SOFTWARE is gunicorn's) never starts one: in production the worker is its
own process, `flask --app wsgi lti worker`.
"""
from __future__ import annotations

import logging
import threading

from flask import Flask, request

from app.jobs import worker

log = logging.getLogger("courseport.jobs")


def _run(app: Flask, stop: threading.Event) -> None:
    with app.app_context():
        worker.loop(stop=stop)


def init_app(app: Flask) -> None:
    lock = threading.Lock()
    stop = app.extensions.setdefault("courseport_inline_worker_stop", threading.Event())  # set it to end the thread
    started: list[threading.Thread] = []

    @app.before_request
    def start_inline_worker() -> None:
        if started or not request.environ.get("SERVER_SOFTWARE", "").startswith("Werkzeug/"):
            return
        with lock:
            if not started:
                thread = threading.Thread(target=_run, args=(app, stop), name="courseport-jobs", daemon=True)
                thread.start()
                started.append(thread)
                log.info("started the inline job worker (development only)")
