"""Loading and creating user accounts: the signed-in user of every request, and the account an LMS identity
is bound to (created or bound on a first launch)."""
from __future__ import annotations

from app.models import User
from app.models.driver_sql import DriverStatement, columns_of

# A session names its account and the account's session generation: raising the generation ends the session.
USER = DriverStatement(
    f'SELECT {columns_of(User)} FROM "user" WHERE id = :id AND session_generation = :generation')
# Identities are bound within the scope of the credential that proved them (app/lti/identity.py).
BOUND_USER = DriverStatement(
    f'SELECT {columns_of(User, "u")} FROM lti_identity i JOIN "user" u ON u.id = i.user_id '
    "WHERE i.scope = :scope AND i.subject = :subject")
NEW_USER = DriverStatement(
    'INSERT INTO "user" (username, password_hash, email, first_name, last_name, is_site_admin, auth_method, '
    "suspended, email_visibility, city, country, timezone, lang, institution, created_at, updated_at) "
    "VALUES (:username, NULL, :email, :first_name, :last_name, :no, :lti, :no, :email_visibility, :city, "
    ":country, :timezone, :lang, :institution, :now, :now) ON CONFLICT (username) DO NOTHING RETURNING "
    f"{columns_of(User)}", times=("now",))
BIND = DriverStatement(
    "INSERT INTO lti_identity (user_id, scope, issuer, subject, registration_id, created_at, updated_at) "
    "VALUES (:user, :scope, :issuer, :subject, :registration, :now, :now) ON CONFLICT (scope, subject) DO NOTHING",
    times=("now",))
DROP_USER = DriverStatement('DELETE FROM "user" WHERE id = :id')
