"""Courseport served by gunicorn in a process of its own, as in production: nothing it keeps in memory is shared
with the test or with another app server."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.helpers import CSRF_RE, REPO, TEST_ENVIRONMENT, free_port


def environment(database_url: str, instance: Path, base_url: str, **extra: str) -> dict[str, str]:
    """What the web and worker processes of one installation share (docs/deployment.md, Environment)."""
    return {**os.environ, **TEST_ENVIRONMENT, "DATABASE_URL": database_url, "COURSEPORT_INSTANCE_PATH": str(instance),
            "COURSEPORT_BASE_URL": base_url, **extra}


class AppProcess:
    """`gunicorn wsgi:app` on 127.0.0.1; `env` comes from `environment()`."""

    def __init__(self, env: dict[str, str], port: int | None = None, threads: int = 4) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.threads = threads
        self.process: subprocess.Popen | None = None
        self.log = Path(env["COURSEPORT_INSTANCE_PATH"]) / f"gunicorn-{self.port}.log"

    def start(self) -> "AppProcess":
        return self.spawn().wait_ready()

    def spawn(self) -> "AppProcess":
        """Start gunicorn without waiting for it (so several servers load the app at the same time)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", str(self.threads), "-b",
                 f"127.0.0.1:{self.port}", "--access-logfile", "-", "wsgi:app"],
                env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self) -> "AppProcess":
        assert self.process is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                requests.get(self.url + "/login", timeout=20)  # the first answer waits for the app's import
                return self
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "AppProcess":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def password_login(session: requests.Session, base_url: str, username: str, password: str) -> requests.Response:
    """The login form as a browser submits it (CSRF token from the page first)."""
    page = session.get(base_url + "/login", timeout=10)
    token = CSRF_RE.search(page.text)
    assert token, page.text[:500]
    return session.post(base_url + "/login", data={"username": username, "password": password,
                                                   "csrf_token": token.group(1)}, allow_redirects=False, timeout=10)
