"""Password login and logout."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from app.blueprints.auth.forms import LoginForm
from app.extensions import db
from app.security import safe_next_url, sign_in
from app.services.accounts import users as accounts
from app.services.errors import ServiceError

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.username.data or "", form.password.data or "",
                                         request.remote_addr or "")
        except ServiceError as error:
            db.session.commit()  # the failed attempt must be counted by the throttle
            form.password.errors.append(error.message)
            status = error.status
        else:
            db.session.commit()
            sign_in(user)
            return redirect(safe_next_url(form.next.data) or url_for("main.index"))
    elif request.method == "POST":
        status = 400
    elif current_user.is_authenticated:
        return redirect(url_for("main.index"))
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    # CSRFProtect has already rejected a POST without a valid token.
    accounts.log_out(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))
