"""Moving an installation from SQLite to PostgreSQL with `flask --app wsgi db copy-to`, run as an admin would
(its own process), then the same installation served from PostgreSQL: a launch from the independent platform, a
grade sync to the AGS platform and a password login all work with the copied rows."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select

from app.extensions import db
from app.jobs import worker
from app.models import Activity, Course, User
from app.services.courses.gradebook import grade_by_teacher
from tests import factories
from tests.conftest import make_app
from tests.e2e.ags_platform import AgsPlatform
from tests.e2e.launch_world import World, build_world, row_counts
from tests.e2e.lti_launcher import LaunchPlatform
from tests.e2e.platform_server import PlatformServer
from tests.app_process import AppProcess, environment, password_login
from tests.helpers import LiveServer, flask_command, free_port
from tests.sync_factories import link_user, make_link, make_platform_registration, tool_jwks

pytestmark = pytest.mark.postgresql


@dataclass
class Installation:
    """A SQLite installation set up by its commands (migrated, demo data) as an admin would have it."""

    instance: Path
    url: str
    admin_password: str


def _installation(tmp_path: Path) -> Installation:
    instance, url = tmp_path / "instance", f"sqlite:///{tmp_path / 'courseport.sqlite'}"
    upgraded = flask_command("db", "upgrade", database_url=url, instance=instance)
    assert upgraded.returncode == 0, upgraded.stderr
    seeded = flask_command("demo", "seed", "--json", database_url=url, instance=instance)
    assert seeded.returncode == 0, seeded.stderr
    return Installation(instance, url, json.loads(seeded.stdout)["admin"]["password"])


@dataclass
class Grading:
    assignment_id: int
    teacher_id: int
    student_ids: list[int]

    def grade(self, student_id: int, value: str) -> None:
        grade_by_teacher(db.session.get(Activity, self.assignment_id), db.session.get(User, student_id), value,
                         feedback="", grader=db.session.get(User, self.teacher_id))
        db.session.commit()


def _demo_grading(ags: AgsPlatform) -> Grading:
    """The demo's first assignment published to the AGS platform, two demo students linked from it."""
    assignment = db.session.execute(select(Activity).join(Course).where(
        Course.short_name == "DEMO1", Activity.type == "assignment")).scalar_one()
    teacher = db.session.execute(select(User).where(User.username == "teacher1")).scalar_one()
    students = list(db.session.execute(select(User).where(User.username.in_(["student2", "student3"]))
                                       .order_by(User.id)).scalars())
    resource = factories.make_resource(assignment.course, assignment)
    link = make_link(resource, make_platform_registration(ags, "AGS LMS"), lineitems_url=ags.lineitems_url())
    for student in students:
        link_user(resource, link, student)
    return Grading(assignment.id, teacher.id, [student.id for student in students])


def _launch(world: World, sub: str) -> None:
    browser = world.browser()
    result = browser.launch(world.platform, world.link(sub=sub))
    assert result.launch.status_code == 302, result.launch.text
    landing = browser.follow(result.launch)
    assert landing.status_code == 200 and "Cells are small." in landing.text


def test_a_populated_sqlite_installation_is_copied_and_keeps_working_on_postgresql(tmp_path, empty_postgres_url):
    postgres_url = empty_postgres_url  # as `createdb` leaves it: the admin migrates it with `db upgrade`
    source = _installation(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sqlite_app = make_app(tmp_path / "sqlite", SQLALCHEMY_DATABASE_URI=source.url, COURSEPORT_BASE_URL=base)
    with PlatformServer() as lms:
        world = build_world(LiveServer(sqlite_app, port), LaunchPlatform(lms, base))
        world.live.start()
        try:
            _launch(world, "s-1")
        finally:
            world.live.stop()
        with sqlite_app.app_context():
            ags = AgsPlatform(tool_jwks()).start()
            grading = _demo_grading(ags)
            grading.grade(grading.student_ids[0], "70")
            assert worker.run_due().done == 1
            grading.grade(grading.student_ids[1], "80")  # queued, still pending when the copy is made
            db.session.remove()
            db.engine.dispose()
        before = row_counts(world)
        assert before["lti_user"] and before["sync_job"] and before["grade_sync_log"] and before["tool_key"]

        migrated = flask_command("db", "upgrade", database_url=postgres_url, instance=source.instance)
        assert migrated.returncode == 0, migrated.stderr
        copied = flask_command("db", "copy-to", "--target", postgres_url, "--json", database_url=source.url,
                               instance=source.instance)
        assert copied.returncode == 0, copied.stdout + copied.stderr
        assert json.loads(copied.stdout)["rows"] == before

        again = flask_command("db", "copy-to", "--target", postgres_url, database_url=source.url,
                              instance=source.instance)
        assert again.returncode == 1
        assert "is not empty: course (" in again.stderr and "create it, run `db upgrade`" in again.stderr

        counted = create_engine(postgres_url)
        with counted.connect() as connection:
            assert {table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                    for table in db.metadata.sorted_tables} == before
        counted.dispose()

        # The same installation (instance folder, secret key, address), now served from PostgreSQL.
        env = environment(postgres_url, source.instance, base)
        world.platform = LaunchPlatform(lms, base)
        with AppProcess(env, port):
            _launch(world, "s-1")  # the account made by the launch on SQLite
            _launch(world, "s-2")  # a new one: ids from the sequences, past the copied ones
            browser = requests.Session()
            assert password_login(browser, base, "admin", source.admin_password).status_code == 302
            assert browser.get(base + "/admin/users", timeout=10).status_code == 200

            graded = flask_command("courses", "grade", "DEMO1", "--activity", "Assignment", "--user",
                                   "student2", "--grade", "90", database_url=postgres_url, instance=source.instance)
            assert graded.returncode == 0, graded.stderr
            synced = flask_command("lti", "worker", "--once", "--json", database_url=postgres_url,
                                   instance=source.instance)
            assert synced.returncode == 0, synced.stderr
            jobs = json.loads(synced.stdout)["jobs"]
            assert (jobs["failed"], jobs["retried"]) == (0, 0), synced.stdout
        # Sent from SQLite, then from PostgreSQL the job copied while pending and the new grade's.
        assert [score.data["scoreGiven"] for score in ags.scores()] == [70.0, 80.0, 90.0]
        ags.stop()
