"""A live LTI 1.3 platform (lti1p3platform, its auth step and JWKS over HTTP) registered in the test app's
database, for web tests whose browser is the Flask test client."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from tests import factories
from tests.e2e.lti_launcher import LaunchPlatform
from tests.e2e.platform_server import PlatformServer

BASE = "http://127.0.0.1:5000"  # the tool's address in the test app's configuration


@contextmanager
def registered_platform() -> Iterator[LaunchPlatform]:
    with PlatformServer() as server:
        platform = LaunchPlatform(server, BASE)
        factories.make_registration("Test LMS", issuer=server.issuer, client_id=server.client_id,
                                    auth_request_url=platform.auth_url, jwks_url=platform.jwks_url)
        yield platform
