"""A production-shaped Courseport on 127.0.0.1 for the fault-and-load tests: gunicorn app servers and
`flask --app wsgi lti worker` processes on one SQLite file, an LMS that launches users (`LaunchPlatform`) and one
that receives grades (`AgsPlatform`), both independent of Courseport's code.

Every process is ours to kill: tests send SIGKILL to gunicorn workers and sync workers, and restart servers, while
client threads keep launching."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import requests

from app.extensions import db
from app.lti import keys
from app.models import Activity, User
from app.services.courses.gradebook import grade_by_teacher
from tests import factories
from tests.e2e.ags_platform import AgsPlatform
from tests.e2e.lti_launcher import Browser, LaunchPlatform, LinkSpec
from tests.e2e.platform_server import PlatformServer
from tests.app_process import environment
from tests.helpers import REPO, free_port

TEACHER = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]


class Process:
    """One long-running child (a gunicorn master or a sync worker) with its output kept in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.popen: subprocess.Popen | None = None

    def start(self) -> "Process":
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(self.args, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group: nothing gets to clean up."""
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def children(self) -> list[int]:
        assert self.popen is not None
        path = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []


@dataclass
class Stack:
    folder: Path
    app: Any
    launcher: LaunchPlatform
    grades: AgsPlatform
    port: int
    env: dict[str, str]
    registration_id: int
    course_id: int
    assignment_id: int
    resource_uuid: str
    processes: list[Process] = field(default_factory=list)
    server: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # Processes ---------------------------------------------------------------------------------------------------
    def start_server(self, workers: int = 2) -> Process:
        self.server = Process([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
                               "--graceful-timeout", "5", "wsgi:app"], self.env, self.folder / "gunicorn.log").start()
        self.processes.append(self.server)
        self.wait_until_serving()
        return self.server

    def restart_server(self) -> None:
        assert self.server is not None
        self.server.stop()
        self.start_server()

    def start_worker(self) -> Process:
        worker = Process([sys.executable, "-m", "flask", "--app", "wsgi", "lti", "worker"], self.env,
                         self.folder / f"worker-{len(self.processes)}.log").start()
        self.processes.append(worker)
        return worker

    def wait_until_serving(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass  # still starting
            time.sleep(0.1)
        raise AssertionError(f"gunicorn did not answer within {timeout} s:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-4000:] for path in sorted(self.folder.glob("*.log")))

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    # Users -------------------------------------------------------------------------------------------------------
    def link(self, sub: str, *, teacher: bool = False) -> str:
        return self.launcher.add_link(LinkSpec(
            sub=sub, roles=list(TEACHER) if teacher else ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            resource_uuid=self.resource_uuid, given_name=sub, family_name="Load", name=f"{sub} Load",
            email=f"{sub}@school.example", ags={"lineitems": self.grades.lineitems_url()}))

    def launch(self, sub: str, *, attempts: int = 20) -> list[int]:
        """One user's complete launch, as a browser makes it; a refused connection (a server restarting, a
        killed worker) is tried again, as a person would reload. Returns the HTTP statuses Courseport answered."""
        statuses: list[int] = []
        hint = self.link(sub)
        for _ in range(attempts):
            browser = Browser(self.url)
            try:
                result = browser.launch(self.launcher, hint)
                statuses += [r.status_code for r in (result.login, result.launch) if r is not None]
                if result.launch is not None and result.launch.status_code == 302:
                    statuses.append(browser.follow(result.launch).status_code)
                    return statuses
            except requests.RequestException:  # refused, reset or cut short by a dying worker
                time.sleep(0.2)
                continue
            if statuses and statuses[-1] >= 500:
                return statuses
            time.sleep(0.2)
        raise AssertionError(f"{sub} never completed a launch: {statuses}")

    def launch_all(self, subs: list[str], clients: int = 8) -> list[list[int]]:
        with ThreadPoolExecutor(clients) as pool:
            return list(pool.map(self.launch, subs))

    def grade(self, sub: str, value: str) -> None:
        with self.app.app_context():
            user = db.session.execute(db.select(User).where(User.email == f"{sub}@school.example")).scalar_one()
            grade_by_teacher(db.session.get(Activity, self.assignment_id), user, value, feedback=None, grader=None)
            db.session.commit()

    def count(self, model: Any) -> int:
        with self.app.app_context():
            return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()

    def grades_by_user(self) -> dict[str, set[float]]:
        """The grade values the LMS accepted for each user. A score resent after a worker died may arrive again
        with a newer timestamp (the LMS keeps the latest); what must never happen is a missing or a wrong value."""
        received: dict[str, set[float]] = {}
        for score in self.grades.scores():
            received.setdefault(score.data["userId"], set()).add(score.data["scoreGiven"])
        return received

    def wait_for(self, check: Callable[[], bool], timeout: float, what: str,
                 detail: Callable[[], Any] = lambda: "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        raise AssertionError(f"{what} did not happen within {timeout} s: {detail()}\n{self.logs()}")


def build_stack(tmp_path: Path) -> Iterator[Stack]:
    """Everything a school's production would have, on one SQLite file in tmp_path."""
    from tests.conftest import make_app

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = make_app(tmp_path, COURSEPORT_BASE_URL=base_url)
    env = environment(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance", base_url,
                      COURSEPORT_SECRET_KEY="load-test-secret", PYTHONUNBUFFERED="1")
    with app.app_context():
        tool_jwks = keys.jwks()
        db.session.commit()
    with PlatformServer() as lms:
        launcher = LaunchPlatform(lms, base_url)
        with AgsPlatform(tool_jwks, client_id=lms.client_id) as grades, app.app_context():
            registration = factories.make_registration(
                "Load LMS", issuer=lms.issuer, client_id=lms.client_id, deployment_ids=(lms.deployment_id,),
                auth_request_url=launcher.auth_url, jwks_url=launcher.jwks_url, access_token_url=grades.token_url)
            course = factories.make_course("LOAD", "Load course")
            assignment = factories.make_activity(course, "assignment", "Essay", max_grade=10)
            resource = factories.make_resource(course, assignment)
            stack = Stack(tmp_path, app, launcher, grades, port, env, registration.id, course.id, assignment.id,
                          resource.uuid)
            db.session.remove()
            try:
                yield stack
            finally:
                stack.close()
                db.session.remove()
                db.engine.dispose()


def no_server_errors(statuses: list[list[int]]) -> list[int]:
    return [status for user in statuses for status in user if status >= 500]

