"""Home page and the monitoring endpoint."""
from flask import Blueprint, jsonify, render_template
from flask_login import login_required

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def index():
    """The "My courses" dashboard."""
    return render_template("main/index.html", title="My courses")


@bp.get("/health")
def health():
    return jsonify({"status": "ok"})
