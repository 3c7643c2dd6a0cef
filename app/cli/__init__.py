"""Command groups for `flask --app wsgi …`; the names and flags are a contract scripts rely on."""
from flask import Flask


def register_cli(app: Flask) -> None:
    from app.cli.courses import courses_cli
    from app.cli.demo import demo_cli
    from app.cli.lti import lti_cli
    from app.cli.users import users_cli

    for group in (users_cli, courses_cli, demo_cli, lti_cli):
        app.cli.add_command(group)
