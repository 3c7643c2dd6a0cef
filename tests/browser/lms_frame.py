"""What the browser tests of Courseport inside an LMS frame share: an HTTPS certificate for 127.0.0.1, a browser
context around a test LMS (its `close()` stops its servers), and screenshots for a person to look at."""
from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from app.extensions import db
from tests.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, make_app
from tests.e2e.lti_launcher import LaunchPlatform
from tests.e2e.platform_server import PlatformServer
from tests.helpers import LiveServer, free_port


def tls_context(folder: Path) -> ssl.SSLContext:
    """A throwaway self-signed certificate for 127.0.0.1 (the browser context ignores its issuer)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


def _cookies_blocked_context(browser: Any, origin: str, profile: Path, **options: Any) -> Any:
    """A browser whose own profile blocks every cookie of `origin` (the user's "not allowed to use cookies" site
    setting): Chromium then neither stores nor sends one, partitioned or not, in a frame or on top."""
    (profile / "Default").mkdir(parents=True)
    blocked = {"profile": {"content_settings": {"exceptions": {"cookies": {f"{origin},*": {"setting": 2}}}}}}
    (profile / "Default" / "Preferences").write_text(json.dumps(blocked))
    return browser.browser_type.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True,
                                                          args=CHROMIUM_ARGS, **options)


class FramingLms:
    """Courseport on 127.0.0.1 (https unless told otherwise) and a test platform whose pages are on localhost, so
    the frame is cross-site; subclasses add the course pages."""

    def __init__(self, tmp_path: Path, scheme: str = "https") -> None:
        port = free_port()
        self.app = make_app(tmp_path, COURSEPORT_BASE_URL=f"{scheme}://127.0.0.1:{port}")
        self.tool = LiveServer(self.app, port, tls_context(tmp_path) if scheme == "https" else None).start()
        self.server = PlatformServer().start()
        self.platform = LaunchPlatform(self.server, self.tool.url)
        self.pages = f"http://localhost:{self.server.port}"

    def close(self) -> None:
        self.server.stop()
        self.tool.stop()
        with self.app.app_context():
            db.engine.dispose()


@contextmanager
def lms_frame_page(browser: Any, lms: Any, *, width: int, prepare: Callable[[Any], None] | None = None,
                   block_cookies_of: tuple[str, Path] | None = None) -> Iterator[tuple[Any, Any]]:
    """A fresh browser context (the test certificate accepted) and page for `lms`; `prepare(context)` runs first
    (routes, for instance). `block_cookies_of=(origin, profile folder)` gives a browser of its own whose profile
    blocks that origin's cookies. Everything is closed afterwards, `lms` too."""
    options = {"ignore_https_errors": True, "viewport": {"width": width, "height": 900}}
    context = _cookies_blocked_context(browser, *block_cookies_of, **options) if block_cookies_of \
        else browser.new_context(**options)
    try:
        if prepare is not None:
            prepare(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield lms, page
    finally:
        context.close()
        lms.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
