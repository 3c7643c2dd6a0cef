"""Command groups for `flask --app wsgi …`; the names and flags are a contract scripts rely on."""
from flask import Flask


def register_cli(app: Flask) -> None:
    from app.cli.courses import courses_cli
    from app.cli.demo import demo_cli
    from app.cli.lti import lti_cli
    from app.cli.operations import backup, check, copy_to
    from app.cli.users import users_cli

    for group in (users_cli, courses_cli, demo_cli, lti_cli, check):
        app.cli.add_command(group)
    for command in (backup, copy_to):
        app.cli.commands["db"].add_command(command)  # Flask-Migrate's group, registered by migrate.init_app
