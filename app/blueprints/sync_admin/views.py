from flask import Blueprint

bp = Blueprint("sync_admin", __name__)
