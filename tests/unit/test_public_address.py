"""URLs that arrive in requests reach public addresses only (unless the site allows private ones); URLs an admin
configured reach any address."""
from __future__ import annotations

import pytest

from app.lti import outbound, public_address


@pytest.mark.parametrize("address, public", [
    ("8.8.8.8", True), ("2606:4700::1111", True),
    ("127.0.0.1", False), ("10.0.0.1", False), ("172.16.5.5", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("::1", False), ("fe80::1%eth0", False), ("fc00::1", False), ("::ffff:127.0.0.1", False),
])
def test_which_addresses_are_public(address, public):
    assert public_address._is_public(address) is public


def test_a_request_url_may_not_reach_loopback_but_an_admin_url_may(app, live_server):
    app.config["ALLOW_PRIVATE_ADDRESSES"] = False
    url = live_server.url + "/lti/jwks"
    with pytest.raises(outbound.OutboundError, match="127.0.0.1 is not a public address"):
        outbound.get(url, public_only=True)
    with pytest.raises(outbound.OutboundError, match="not a public address"):
        outbound.begin("GET", url, public_only=True).response()
    assert outbound.get(url).status_code == 200


@pytest.mark.parametrize("url", ["ftp://example.org/x", "http:///nohost", "http://example.org:99999/x"])
def test_unusable_urls_are_not_public(url):
    with pytest.raises(public_address.NotPublic):
        public_address.check(url)


def test_the_setting_is_read_where_the_app_is(app):
    app.config["ALLOW_PRIVATE_ADDRESSES"] = False
    assert public_address.required()
    app.config["ALLOW_PRIVATE_ADDRESSES"] = True
    assert not public_address.required()
    with app.test_request_context():
        assert not public_address.required()
