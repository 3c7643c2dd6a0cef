"""Upgrading a database with identities bound before scopes: each keeps working within the credential that can be
told from the records, and none is guessed into another's."""
import os
import sqlite3
import subprocess
import sys

from app.lti.identity import credential_scope, platform_scope

ROOT = os.path.dirname(os.path.dirname(__file__))
NOW = "2026-01-01 00:00:00"


def _upgrade(tmp_path, database, revision: str = "head", *, command: str = "upgrade") -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "COURSEPORT_INSTANCE_PATH": str(tmp_path / "i")}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", command, revision], env=env,
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def _seed(connection) -> None:
    run = connection.execute
    for user_id in range(1, 10):
        run('INSERT INTO "user" (id, username, email, first_name, last_name, is_site_admin, auth_method, suspended, '
            "email_visibility, city, country, timezone, lang, institution, created_at, updated_at) "
            "VALUES (?, ?, '', 'F', 'L', 0, 'lti', 0, 2, '', '', '', 'en', '', ?, ?)",
            (user_id, f"u{user_id}", NOW, NOW))
    for registration_id, issuer in ((1, "https://canvas.example"), (2, "https://canvas.example"),
                                    (3, "https://moodle.example")):
        run("INSERT INTO platform_registration (id, name, issuer, client_id, login_id, status, frame_origins, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'active', '[]', ?, ?)",
            (registration_id, f"R{registration_id}", issuer, f"client-{registration_id}", f"login-{registration_id}",
             NOW, NOW))
    run("INSERT INTO deployment (id, registration_id, deployment_id, name, status, attempts, legacy_consumer_key, "
        "created_at, updated_at) VALUES (1, 1, 'd-1', 'D', 'active', 0, 'key-2', ?, ?)", (NOW, NOW))
    run("INSERT INTO course (id, full_name, short_name, summary_html, visible, grade_max, created_at, updated_at) "
        "VALUES (1, 'C', 'C', '', 1, 100, ?, ?)", (NOW, NOW))
    for resource_id in (4, 5, 6):
        run("INSERT INTO published_resource (id, course_id, target, lti_version, name, secret, enabled, enrol_period, "
            "max_enrolled, role_instructor, role_learner, provisioning_mode_instructor, provisioning_mode_learner, "
            "available_to, grade_sync, grade_sync_completion, member_sync, member_sync_mode, email_visibility, city, "
            "country, timezone, lang, institution, created_at, updated_at) VALUES (?, 1, 'course', 'legacy', '', ?, "
            "1, 0, 0, 'teacher', 'student', 2, 1, 'all', 1, 0, 1, 1, 2, '', '', '', 'en', '', ?, ?)",
            (resource_id, f"secret-{resource_id}", NOW, NOW))
    for consumer_id, resource_id, key in ((1, 4, "key-1"), (2, 6, "key-1"), (3, 5, "key-2")):
        run("INSERT INTO lti11_consumer (id, published_resource_id, consumer_key, lti_version, name, guid, version, "
            "frame_origins, created_at, updated_at) VALUES (?, ?, ?, 'LTI-1p0', '', '', '', '[]', ?, ?)",
            (consumer_id, resource_id, key, NOW, NOW))
    # y-42 was bound launching resource 6; a launch through resource 4's secret came later.
    for lti_user_id, user_id, resource_id, at in ((1, 7, 4, "2026-02-01 00:00:00"), (2, 7, 6, NOW)):
        run("INSERT INTO lti_user (id, user_id, published_resource_id, subject, consumer_key, created_at, updated_at) "
            "VALUES (?, ?, ?, 'y-42', 'key-1', ?, ?)", (lti_user_id, user_id, resource_id, at, at))
    for identity_id, user_id, issuer, subject, registration_id in (
            (1, 1, "https://canvas.example", "s-1", 1), (2, 2, "https://canvas.example", "s-2", 2),
            (3, 3, "https://moodle.example", "s-3", None), (4, 4, "https://canvas.example", "s-4", None),
            (5, 7, "urn:lti11:key-1", "y-42", None), (6, 8, "urn:lti11:key-2", "z-1", None),
            (7, 9, "urn:lti11:key-1", "w-9", None)):
        run("INSERT INTO lti_identity (id, user_id, issuer, subject, registration_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (identity_id, user_id, issuer, subject, registration_id, NOW, NOW))
    connection.commit()


def _upgraded_from_seed(tmp_path):
    """A database at the initial schema with identities bound the old way, then upgraded to head."""
    database = tmp_path / "old.sqlite"
    _upgrade(tmp_path, database, "212dbbcf3f32")
    with sqlite3.connect(database) as connection:
        _seed(connection)
    _upgrade(tmp_path, database)
    return database


def test_existing_identities_move_to_the_scope_that_proved_them(tmp_path):
    database = _upgraded_from_seed(tmp_path)
    with sqlite3.connect(database) as connection:
        keys = dict(connection.execute("SELECT id, platform_key FROM platform_registration"))
        scopes = sorted(connection.execute("SELECT user_id, subject, scope FROM lti_identity"))
        deployment_scope = connection.execute("SELECT legacy_scope FROM deployment").fetchone()[0]
        generations = {row[0] for row in connection.execute('SELECT session_generation FROM "user"')}
        recorded = connection.execute("SELECT registration_id FROM lti_identity WHERE subject = 's-1'").fetchone()
    assert len(set(keys.values())) == 3  # every registration its own platform, even with a shared issuer
    assert scopes == sorted([
        (1, "s-1", platform_scope(keys[1])),
        (2, "s-2", platform_scope(keys[2])),  # the same issuer as s-1's registration, a scope of its own
        (3, "s-3", platform_scope(keys[3])),  # registration gone: the issuer's only registration
        (4, "s-4", "retired:4"),  # registration gone, two registrations share the issuer: not guessed
        (7, "y-42", credential_scope("key-1", "secret-6")),  # the secret it was bound through, not a later one
        (8, "z-1", credential_scope("key-2", "secret-5")),  # no launch record: the key's only credential
        (9, "w-9", "retired:7"),  # no launch record and the key has two credentials: not guessed
    ])
    assert deployment_scope == credential_scope("key-2", "secret-5")
    assert generations == {0}
    assert recorded == (1,)  # rebuilding platform_registration cascaded to nothing


def test_downgrade_returns_to_one_identity_per_issuer_and_subject(tmp_path):
    database = _upgraded_from_seed(tmp_path)
    _upgrade(tmp_path, database, "212dbbcf3f32", command="downgrade")
    with sqlite3.connect(database) as connection:
        identities = connection.execute("SELECT count(*) FROM lti_identity").fetchone()[0]
        deployments = connection.execute("SELECT count(*) FROM deployment").fetchone()[0]
    assert (identities, deployments) == (7, 1)
