from app.models import LoginAttempt
from tests.conftest import make_app
from tests.factories import make_user
from tests.helpers import csrf_token, login, post_form


def test_health(client):
    assert client.get("/health").get_json() == {"status": "ok"}


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_login_and_logout(client, app):
    make_user("alice")
    response = login(client, "alice")
    assert response.headers["Location"] == "/"
    token = csrf_token(client, "/admin")  # a 403 page still carries the logout form
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin").status_code == 302


def test_logout_without_csrf_is_refused(client):
    make_user("bob")
    login(client, "bob")
    assert client.post("/logout").status_code == 400


def test_every_failure_says_the_same(client, db):
    user = make_user("carol")
    suspended = make_user("dave")
    suspended.suspended = True
    db.session.commit()
    for username, password in (("nobody", "whatever-1"), ("carol", "wrong-pass"), ("dave", "Password-123")):
        response = post_form(client, "/login", {"username": username, "password": password})
        assert response.status_code == 400
        assert "Invalid login, please try again" in response.get_data(as_text=True)
    assert user.id


def test_throttle_after_five_failures(client, db):
    make_user("erin")
    for _ in range(5):
        post_form(client, "/login", {"username": "erin", "password": "wrong-pass"})
    response = post_form(client, "/login", {"username": "erin", "password": "Password-123"})
    assert response.status_code == 429
    assert "Too many failed login attempts. Try again in 15 minutes." in response.get_data(as_text=True)
    assert db.session.query(LoginAttempt).filter_by(succeeded=True).count() == 0


def test_next_only_same_site(client):
    make_user("frank")
    response = post_form(client, "/login?next=//evil.example/x",
                         {"username": "frank", "password": "Password-123", "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "object-src 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_passwords_are_hashed_with_scrypt_unless_configured_otherwise(tmp_path):
    from app.config import DefaultConfig

    app = make_app(tmp_path, PASSWORD_HASH_METHOD=DefaultConfig.PASSWORD_HASH_METHOD)
    with app.app_context():
        user = make_user("strong", password="a long enough passphrase")
        assert user.password_hash.startswith("scrypt:")
        assert user.check_password("a long enough passphrase")


def test_parallel_wrong_passwords_get_no_more_checks_than_the_limit(tmp_path):
    """Forty browsers at once (a file database shared by threads, as by a threaded server): the throttle's
    check and the attempt's record are one step, so at most five passwords are checked."""
    import threading

    from app.extensions import db as database

    app = make_app(tmp_path, PASSWORD_HASH_METHOD="pbkdf2:sha256:20000")  # a check that takes a moment
    with app.app_context():
        make_user("gina")
    clients = [app.test_client() for _ in range(40)]
    tokens = [csrf_token(client) for client in clients]
    start = threading.Barrier(len(clients), timeout=30)
    statuses: list[int] = []

    def attempt(client, token) -> None:
        start.wait()
        response = client.post("/login", data={"username": "gina", "password": "wrong-pass", "csrf_token": token})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in zip(clients, tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(set(statuses)) == [400, 429] and len(statuses) == 40
    assert statuses.count(400) <= 5
    with app.app_context():
        assert database.session.query(LoginAttempt).count() == statuses.count(400)
        database.engine.dispose()
