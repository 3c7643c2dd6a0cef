from flask import Blueprint

bp = Blueprint("deeplink", __name__)
