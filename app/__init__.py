"""Courseport application factory."""
from __future__ import annotations

import os
from typing import Any, Mapping

from flask import Flask

from app.config import load_config
from app.limits import BoundedIntConverter
from app.extensions import csrf, db, login_manager, migrate


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    instance_path = os.environ.get("COURSEPORT_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        template_folder="../templates",
        static_folder="../static",
    )
    load_config(app, test_config)
    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    _register_request_hooks(app)
    _register_shell(app)
    if app.config.get("JOBS_INLINE") and not app.config.get("TESTING"):
        from app.jobs import inline

        inline.init_app(app)  # development server only; production runs `flask --app wsgi lti worker`
    return app


def _init_extensions(app: Flask) -> None:
    from app import models  # noqa: F401  (every model must be mapped before the first query)

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, directory=os.path.join(app.root_path, "..", "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]


def _register_blueprints(app: Flask) -> None:
    from app.blueprints.admin_users.views import bp as admin_users_bp
    from app.blueprints.auth.views import bp as auth_bp
    from app.blueprints.courses.views import bp as courses_bp
    from app.blueprints.deeplink.views import bp as deeplink_bp
    from app.blueprints.dynreg.views import bp as dynreg_bp
    from app.blueprints.launch.views import bp as launch_bp
    from app.blueprints.legacy.views import bp as legacy_bp
    from app.blueprints.lti_settings.views import bp as lti_settings_bp
    from app.blueprints.main.views import bp as main_bp
    from app.blueprints.provisioning.views import bp as provisioning_bp
    from app.blueprints.registrations.views import bp as registrations_bp
    from app.blueprints.sync_admin.views import bp as sync_admin_bp
    from app.blueprints.tools.views import bp as tools_bp

    for blueprint in (main_bp, auth_bp, admin_users_bp, courses_bp, lti_settings_bp, registrations_bp,
                      tools_bp, dynreg_bp, launch_bp, provisioning_bp, sync_admin_bp, legacy_bp,
                      deeplink_bp):
        app.register_blueprint(blueprint)


def _register_cli(app: Flask) -> None:
    from app.cli import register_cli

    register_cli(app)


def _register_request_hooks(app: Flask) -> None:
    from app import errors, security, templating
    from app.web import frame_session

    security.init_app(app)
    frame_session.init_app(app)
    errors.register_errorhandlers(app)
    templating.init_app(app)


def _register_shell(app: Flask) -> None:
    from app import models

    @app.shell_context_processor
    def shell_context() -> dict[str, Any]:
        return {"db": db, **{name: getattr(models, name) for name in models.__all__}}
