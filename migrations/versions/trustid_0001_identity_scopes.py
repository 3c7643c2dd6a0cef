"""identity scopes, platform keys and session generations

Identities were matched on (issuer, subject) site-wide. Each now belongs to the credential that proved it:
an LTI 1.3 identity to the platform key of the registration it was bound through, an LTI 1.1 identity to
(consumer key, secret). Existing identities keep working where that credential can be told from the records:
- LTI 1.3: the registration recorded on the identity; when that registration is gone, the only registration
  left with the same issuer (a re-registration).
- LTI 1.1: the (key, secret) of the account's first launch with that key (its earliest LTI user record), which
  bound the identity; failing that, the key's only credential among the consumers seen. Later launches through
  other secrets are not carried over: they are what another secret's holder could have forged.
An identity that fits no credential is retired (a later launch asks again or creates an account) rather than
guessed.

Revision ID: trustid_0001
Revises: trustinput_0001
Create Date: 2026-12-03 18:30:00

"""
import hashlib
import secrets

import sqlalchemy as sa
from alembic import op

revision = "trustid_0001"
down_revision = "trustinput_0001"
branch_labels = None
depends_on = None

LEGACY_ISSUER = "urn:lti11:"


def _credential_scope(consumer_key: str, secret: str) -> str:
    # Frozen copy of app/lti/identity.credential_scope: a migration must not change with the app.
    return "lti11:" + hashlib.sha256(consumer_key.encode() + b"\0" + secret.encode()).hexdigest()[:64]


def _legacy_scopes_by_key(connection) -> dict[str, list[str]]:
    """Every credential each consumer key was seen with: an LTI 2 consumer's own secret, else its resource's."""
    rows = connection.execute(sa.text(
        "SELECT c.consumer_key, c.secret, r.secret FROM lti11_consumer c "
        "JOIN published_resource r ON r.id = c.published_resource_id")).all()
    found: dict[str, list[str]] = {}
    for key, own, resource_secret in rows:
        secret = own or resource_secret
        if secret:
            found.setdefault(key, [])
            scope = _credential_scope(key, secret)
            if scope not in found[key]:
                found[key].append(scope)
    return found


def _binding_scope(connection, user_id: int, consumer_key: str) -> str | None:
    """The credential of the account's first launch with this key: the launch that bound the identity. Later
    launches through other secrets are not carried over, since they are what another secret's holder could
    have forged; such a user is asked again on those resources."""
    row = connection.execute(sa.text(
        "SELECT r.secret, c.secret FROM lti_user u JOIN published_resource r ON r.id = u.published_resource_id "
        "LEFT JOIN lti11_consumer c ON c.published_resource_id = u.published_resource_id "
        "AND c.consumer_key = u.consumer_key AND c.secret IS NOT NULL "
        "WHERE u.user_id = :user AND u.consumer_key = :key ORDER BY u.created_at, u.id LIMIT 1"),
        {"user": user_id, "key": consumer_key}).first()
    if row is None or not (row[1] or row[0]):
        return None
    return _credential_scope(consumer_key, row[1] or row[0])


def _fill_platform_keys(connection) -> dict[int, str]:
    keys = {}
    for (registration_id,) in connection.execute(sa.text("SELECT id FROM platform_registration")).all():
        keys[registration_id] = secrets.token_hex(16)
        connection.execute(sa.text("UPDATE platform_registration SET platform_key = :key WHERE id = :id"),
                           {"key": keys[registration_id], "id": registration_id})
    return keys


def _fill_identity_scopes(connection, platform_keys: dict[int, str]) -> None:
    by_issuer: dict[str, list[int]] = {}
    for registration_id, issuer in connection.execute(sa.text("SELECT id, issuer FROM platform_registration")):
        by_issuer.setdefault(issuer or "", []).append(registration_id)
    legacy_by_key = _legacy_scopes_by_key(connection)
    identities = connection.execute(sa.text(
        "SELECT id, user_id, issuer, subject, registration_id FROM lti_identity ORDER BY id")).all()
    taken: set[tuple[str, str]] = set()
    for identity_id, user_id, issuer, subject, registration_id in identities:
        if issuer.startswith(LEGACY_ISSUER):
            key = issuer[len(LEGACY_ISSUER):]
            only = legacy_by_key.get(key, [])
            scope = _binding_scope(connection, user_id, key) or (only[0] if len(only) == 1 else None)
        elif registration_id in platform_keys:
            scope = "lti13:" + platform_keys[registration_id]
        elif len(by_issuer.get(issuer, [])) == 1:
            scope = "lti13:" + platform_keys[by_issuer[issuer][0]]
        else:
            scope = None
        if scope is None or (scope, subject) in taken:
            scope = f"retired:{identity_id}"
        taken.add((scope, subject))
        connection.execute(sa.text("UPDATE lti_identity SET scope = :scope WHERE id = :id"),
                           {"scope": scope, "id": identity_id})


def _fill_deployment_scopes(connection) -> None:
    """A migrated deployment's claim was proved by one of its key's secrets: known when the key has only one."""
    legacy_by_key = _legacy_scopes_by_key(connection)
    rows = connection.execute(sa.text(
        "SELECT id, legacy_consumer_key FROM deployment WHERE legacy_consumer_key IS NOT NULL")).all()
    for deployment_id, key in rows:
        if len(legacy_by_key.get(key, [])) == 1:
            connection.execute(sa.text("UPDATE deployment SET legacy_scope = :scope WHERE id = :id"),
                               {"scope": legacy_by_key[key][0], "id": deployment_id})


def _foreign_keys(connection, on: bool) -> None:
    """SQLite rebuilds a table to change a column: with foreign keys on, dropping the old platform_registration
    would cascade to its deployments and identities."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade():
    connection = op.get_bind()
    _foreign_keys(connection, False)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("platform_registration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("platform_key", sa.String(length=32), nullable=True))
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legacy_scope", sa.String(length=80), nullable=True))
    with op.batch_alter_table("lti_identity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", sa.String(length=80), nullable=True))
        batch_op.drop_constraint("uq_lti_identity_issuer_subject", type_="unique")

    platform_keys = _fill_platform_keys(connection)
    _fill_identity_scopes(connection, platform_keys)
    _fill_deployment_scopes(connection)

    with op.batch_alter_table("platform_registration", schema=None) as batch_op:
        batch_op.alter_column("platform_key", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index(batch_op.f("ix_platform_registration_platform_key"), ["platform_key"], unique=False)
    with op.batch_alter_table("lti_identity", schema=None) as batch_op:
        batch_op.alter_column("scope", existing_type=sa.String(length=80), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_lti_identity_scope_subject"), ["scope", "subject"])
    _foreign_keys(connection, True)


def downgrade():
    connection = op.get_bind()
    _foreign_keys(connection, False)
    # Identities bound since within several scopes cannot share one (issuer, subject) again: the first is kept.
    op.execute("DELETE FROM lti_identity WHERE id NOT IN (SELECT MIN(id) FROM lti_identity GROUP BY issuer, subject)")
    with op.batch_alter_table("lti_identity", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_lti_identity_scope_subject"), type_="unique")
        batch_op.create_unique_constraint("uq_lti_identity_issuer_subject", ["issuer", "subject"])
        batch_op.drop_column("scope")
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.drop_column("legacy_scope")
    with op.batch_alter_table("platform_registration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_platform_registration_platform_key"))
        batch_op.drop_column("platform_key")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
    _foreign_keys(connection, True)
