"""`flask --app wsgi lti defaults|settings show|set KEY VALUE`."""
from __future__ import annotations

from typing import Any, Callable

import click

from app.cli.output import emit, json_option
from app.extensions import db
from app.services.platforms import settings as site_settings


def _text(values: dict[str, Any]) -> str:
    return "\n".join(f"{name}: {', '.join(value) if isinstance(value, list) else value}"
                     for name, value in values.items())


def _group(name: str, help_text: str, read: Callable[[], dict[str, Any]],
           update: Callable[[dict[str, Any]], dict[str, Any]], value_help: str) -> click.Group:
    @click.group(name, help=help_text)
    def group() -> None:
        pass

    @group.command("show")
    @json_option
    def show(as_json: bool) -> None:
        """Print every value (defaults included)."""
        values = read()
        emit(values, as_json, lambda: _text(values))

    @group.command("set", help=f"Change one value, with the same checks as the admin page. {value_help}")
    @click.argument("key")
    @click.argument("value")
    @json_option
    def set_value(key: str, value: str, as_json: bool) -> None:
        values = update({key: value})
        db.session.commit()
        emit(values, as_json, f"Changes saved\n{_text(values)}")

    return group


defaults = _group(
    "defaults", "LTI user default values (Site administration > Publish as LTI tool > User default values).",
    site_settings.user_defaults, site_settings.update_user_defaults,
    "Keys: email_visibility (0 Hidden, 1 Visible to everyone, 2 Visible to course participants), city, "
    "country (ISO code, '' for none), timezone (IANA name, '' for the server's), lang (en), institution.")

settings = _group(
    "settings", "LTI settings (Site administration > Publish as LTI tool > LTI settings).",
    site_settings.lti_settings, site_settings.update_lti_settings,
    "Yes/No settings take yes or no; unknown_deployments takes reject or hold; additional_frame_ancestors "
    "takes origins separated by newlines ('' clears them).")
