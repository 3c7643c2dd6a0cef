from flask import Blueprint

bp = Blueprint("tools", __name__)
