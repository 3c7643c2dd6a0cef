from flask import Blueprint

bp = Blueprint("provisioning", __name__)
