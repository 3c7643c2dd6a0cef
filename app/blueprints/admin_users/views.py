"""Site administration home and user management (SPEC 2.2)."""
from flask import Blueprint, render_template

from app.security import admin_required

bp = Blueprint("admin_users", __name__)


@bp.get("/admin")
@admin_required
def site_admin():
    return render_template("admin/index.html", title="Site administration",
                           breadcrumbs=[("Site administration", None)])
