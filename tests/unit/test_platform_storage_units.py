"""The small rules of platform storage: which frame names are accepted, the platform's origin as a browser
spells it, and the secret comparison."""
from __future__ import annotations

import pytest

from app.lti.platform_storage import platform_origin, secret_matches, storage_target


@pytest.mark.parametrize("value, expected", [("_parent", "_parent"), ("post_message_forwarding",
                                                                      "post_message_forwarding"),
                                             ("", None), (None, None), ("a b", None), ("x" * 65, None),
                                             ('x"><script>', None)])
def test_storage_target_is_a_frame_name(value, expected):
    assert storage_target(value) == expected


@pytest.mark.parametrize("url, origin", [
    ("https://Canvas.Example.COM/api/lti/authorize_redirect", "https://canvas.example.com"),
    ("https://lms.example:443/auth", "https://lms.example"),
    ("http://localhost:8080/auth?x=1", "http://localhost:8080"),
    ("ftp://lms.example/auth", None), ("not a url", None), (None, None), ("https://lms.example:99999/a", None)])
def test_platform_origin_is_spelled_as_event_origin(url, origin):
    assert platform_origin(url) == origin


def test_secret_matches_only_the_same_secret():
    assert secret_matches("abc", "abc")
    assert not secret_matches("abd", "abc")
    assert not secret_matches("", "")
    assert not secret_matches("abc", None)
    assert not secret_matches("a" * 100, "a" * 100)
