from flask import Blueprint

bp = Blueprint("launch", __name__)
