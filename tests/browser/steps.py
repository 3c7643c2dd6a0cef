"""Steps several browser tests share."""
from __future__ import annotations

import re

from tests.factories import PASSWORD


def log_in(page, username: str, password: str = PASSWORD) -> None:
    """Through the login form, submitted from the keyboard as a keyboard user would."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/$"))
