"""`flask --app wsgi demo seed`: demo users and courses for the quick start."""
from __future__ import annotations

from typing import Any

from flask.cli import AppGroup

from app.cli.output import emit, json_option
from app.extensions import db
from app.services.demo import seed_demo

demo_cli = AppGroup("demo", help="Demo data for trying Courseport out.")


def _text(created: dict[str, Any]) -> str:
    lines = []
    if created["admin"]:
        lines += [f"Admin username: {created['admin']['username']}",
                  f"Admin password: {created['admin']['password']}",
                  "This password is shown only once: write it down or change it after logging in."]
    if created["users"]:
        lines.append(f"Created users: {', '.join(created['users'])} "
                     f"(password for each: {created['demo_password']})")
    for short_name, course in created["courses"].items():
        activities = ", ".join(f"{kind} {activity_id}" for kind, activity_id in course["activities"].items())
        lines.append(f"Created course {short_name} (id {course['id']}; activities: {activities})")
    return "\n".join(lines) or "Demo data already present: nothing created."


@demo_cli.command("seed")
@json_option
def seed(as_json: bool) -> None:
    """Create the demo admin, teachers, students and courses that are missing (safe to run again)."""
    created = seed_demo()
    db.session.commit()
    emit(created, as_json, lambda: _text(created))
