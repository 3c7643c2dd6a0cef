"""The "courses" blueprint object, shared by the view modules of this package."""
from flask import Blueprint
from markupsafe import Markup

from app.services.courses.richtext import sanitise

bp = Blueprint("courses", __name__)


@bp.app_template_filter("rich_text")
def rich_text(html: str | None) -> Markup:
    """Sanitise again on the way out: rows written before a rule change, or by hand, are never trusted."""
    return Markup(sanitise(html))
