from flask import Blueprint

bp = Blueprint("legacy", __name__)
