from flask import Blueprint

bp = Blueprint("lti_settings", __name__)
