from flask import Blueprint

bp = Blueprint("dynreg", __name__)
