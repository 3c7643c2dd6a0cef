"""Error pages: plain messages for people, JSON for clients that ask, and a rollback on 500."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.limits import clip

TITLES = {
    400: "Bad request",
    403: "Access denied",
    404: "Page not found",
    405: "Method not allowed",
    413: "Request too large",
    429: "Too many requests",
    500: "Something went wrong",
}
# Our words for an abort() that gave no message of its own (instead of Werkzeug's generic text).
MESSAGES = {
    403: "You do not have permission to open this page. If you need it, ask a site administrator or the "
         "teacher of the course.",
    404: "This page does not exist, or it has been deleted. Check the address, or go back to where you came from.",
    405: "This page cannot be opened this way. Go back and use the page's own buttons.",
}


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


# A message may quote what the request sent; the page never carries more than this of it.
MESSAGE_LIMIT = 2000


def render_error(status: int, message: str):
    message = clip(message, MESSAGE_LIMIT)
    if _wants_json():
        return jsonify({"error": message, "status": status}), status
    return render_template("errors/error.html", status=status, title=TITLES.get(status, "Error"),
                           message=message), status


def register_errorhandlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(400, "The form has expired or was not sent from this site. "
                                 "Go back, reload the page and try again.")

    @app.errorhandler(413)
    def too_large(error: HTTPException):
        limit = app.config["MAX_CONTENT_LENGTH"]
        return render_error(413, f"The request was larger than this site accepts (at most "
                                 f"{limit / (1024 * 1024):g} MB in all, {app.config['MAX_FORM_MEMORY_SIZE'] // 1024} "
                                 f"KB in one field, {app.config['MAX_FORM_PARTS']} form fields). Send less data.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        generic = not error.description or error.description == type(error).description
        message = MESSAGES.get(error.code, TITLES.get(error.code, "Error")) if generic else error.description
        return render_error(error.code, message)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return render_error(500, "An unexpected error occurred. The administrator can find details in the "
                                 "server log.")
