"""Site administration home and user management."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.blueprints.admin_users.forms import PasswordForm, UserForm
from app.form_helpers import show_errors
from app.errors import render_error
from app.extensions import db
from app.limits import page_number
from app.models import AUTH_MANUAL, User
from app.security import admin_required, safe_next_url, sign_in
from app.templating import admin_crumbs
from app.services.accounts import users as accounts
from app.services.errors import NotFound, ServiceError

bp = Blueprint("admin_users", __name__)

PER_PAGE = 50


def _user_or_404(user_id: int) -> User:
    try:
        return accounts.get_user(user_id)
    except NotFound:
        abort(404)


def _crumbs(*tail: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return admin_crumbs(("Users", url_for(".users")), *tail)


def _acting_user() -> User:
    return current_user._get_current_object()


@bp.get("/admin")
@admin_required
def site_admin():
    return render_template("admin/index.html", title="Site administration",
                           breadcrumbs=admin_crumbs())


def _render_list(error: str | None = None, status: int = 200):
    search = request.args.get("q", "").strip()
    page = db.paginate(accounts.users_query(search), page=request.args.get("page", 1, type=page_number),
                       per_page=PER_PAGE, error_out=False)
    return render_template("admin/users/list.html", title="Users", page=page, search=search, error=error,
                           breadcrumbs=_crumbs()), status


@bp.get("/admin/users")
@admin_required
def users():
    """Browse list of users: search by username, name or email, 50 per page."""
    return _render_list()


def _render_form(form: UserForm, user: User | None, status: int):
    title = "Add a new user" if user is None else f"Edit user: {user.full_name}"
    return render_template("admin/users/form.html", form=form, user=user, title=title,
                           breadcrumbs=_crumbs((title, None))), status


def _account_fields(form: UserForm) -> dict[str, Any]:
    return {"email": form.email.data or "", "first_name": form.first_name.data or "",
            "last_name": form.last_name.data or "", "is_site_admin": form.is_site_admin.data,
            "suspended": form.suspended.data, "profile": form.profile_data()}


@bp.route("/admin/users/new", methods=["GET", "POST"])
@admin_required
def create_user():
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(form.username.data or "", form.password.data or "",
                                        **_account_fields(form))
        except ServiceError as error:
            show_errors(form, error)
        else:
            db.session.commit()
            flash(f"User {user.username} created", "success")
            return redirect(url_for(".users", q=user.username))
    return _render_form(form, None, 400 if request.method == "POST" else 200)


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    user = _user_or_404(user_id)
    form = UserForm(obj=user)
    if user.auth_method == AUTH_MANUAL:
        form.password.label.text = "New password"
    else:
        del form.password  # LTI accounts sign in from their LMS only
    if form.validate_on_submit():
        try:
            accounts.update_user(user, acting_user=_acting_user(), username=form.username.data or "",
                                 password=form.password.data if form.password else None, **_account_fields(form))
        except ServiceError as error:
            show_errors(form, error)
        else:
            db.session.commit()
            _keep_own_session(user)
            flash("Changes saved", "success")
            return redirect(url_for(".users", q=user.username))
    return _render_form(form, user, 400 if request.method == "POST" else 200)


def _keep_own_session(user: User) -> None:
    """A change that ended the account's sessions ends the other browsers' only: the admin who made it stays."""
    if user.id == current_user.id:
        sign_in(user)


def _change_suspension(user_id: int, suspended: bool):
    user = _user_or_404(user_id)
    try:
        accounts.set_suspended(user, suspended, acting_user=_acting_user())
    except ServiceError as error:
        return _render_list(error=error.message, status=error.status)
    db.session.commit()
    flash(f"User {user.username} {'suspended' if suspended else 'unsuspended'}", "success")
    return redirect(safe_next_url(request.args.get("next")) or url_for(".users"))


@bp.post("/admin/users/<int:user_id>/suspend")
@admin_required
def suspend(user_id: int):
    return _change_suspension(user_id, True)


@bp.post("/admin/users/<int:user_id>/unsuspend")
@admin_required
def unsuspend(user_id: int):
    return _change_suspension(user_id, False)


@bp.route("/admin/users/<int:user_id>/password", methods=["GET", "POST"])
@admin_required
def reset_password(user_id: int):
    user = _user_or_404(user_id)
    if user.auth_method != AUTH_MANUAL:
        return render_error(400, accounts.MSG_LTI_NO_PASSWORD)
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(user, form.password.data or "")
        except ServiceError as error:
            show_errors(form, error)
        else:
            db.session.commit()
            _keep_own_session(user)
            flash(f"Password reset for {user.username}", "success")
            return redirect(url_for(".users", q=user.username))
    title = f"Reset password: {user.full_name}"
    return render_template("admin/users/password.html", form=form, user=user, title=title,
                           breadcrumbs=_crumbs((title, None))), 400 if request.method == "POST" else 200


@bp.route("/admin/users/<int:user_id>/identities/<int:identity_id>/unlink", methods=["GET", "POST"])
@admin_required
def unlink_identity(user_id: int, identity_id: int):
    """A confirmation page (works without JavaScript), then the POST that unlinks."""
    user = _user_or_404(user_id)
    try:
        identity = accounts.get_identity(user, identity_id)
    except NotFound:
        abort(404)
    if request.method == "POST":
        accounts.unlink_identity(user, identity.id)
        db.session.commit()
        _keep_own_session(user)
        flash("LMS identity unlinked", "success")
        return redirect(url_for(".edit_user", user_id=user.id))
    return render_template("admin/users/unlink.html", user=user, identity=identity, title="Unlink LMS identity",
                           breadcrumbs=_crumbs((f"Edit user: {user.full_name}",
                                                url_for(".edit_user", user_id=user.id)),
                                               ("Unlink LMS identity", None)))
