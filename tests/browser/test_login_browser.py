import pytest

from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_admin_logs_in_with_keyboard(page, live_server, screenshot):
    with live_server.app.app_context():
        make_user("admin", admin=True, first_name="Ada", last_name="Admin")
    page.goto("/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("Password-123")
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    page.get_by_role("link", name="Site administration").click()
    assert page.get_by_role("heading", name="Site administration").is_visible()
    screenshot("site-administration")


def test_wrong_password_message(page, live_server, screenshot):
    page.goto("/login")
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("nothing-here")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("Invalid login, please try again").is_visible()
    screenshot("login-failed")
