"""Outbound requests against real HTTPS peers on 127.0.0.1 with a test certificate authority: certificates are
checked on both the plain and the bulk path, and credentials never follow a redirect to another host."""
from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.lti import outbound


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, issuer_key, issuer: str, public_key, *, ca: bool, names=()) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(path: Path, *items: bytes) -> Path:
    path.write_bytes(b"".join(items))
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test CA and one server certificate for 127.0.0.1 and localhost, signed by it."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Courseport test CA", ca_key, "Courseport test CA", ca_key.public_key(), ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names = (x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"))
    cert = _certificate("127.0.0.1", ca_key, "Courseport test CA", key.public_key(), ca=False, names=names)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return {"ca": _pem(folder / "ca.pem", ca.public_bytes(serialization.Encoding.PEM)),
            "chain": _pem(folder / "server.pem", cert.public_bytes(serialization.Encoding.PEM), key_pem)}


class _Peer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, str | None]]
    redirect_to: str = ""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        if self.path == "/elsewhere":
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            body = b""
        elif self.path == "/here":
            self.send_response(302)
            self.send_header("Location", "/landing")
            body = b""
        else:
            self.send_response(200)
            body = b'{"ok": true}'
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def https_peer(pki):
    """Start HTTPS peers on 127.0.0.1; each returns (server's base URL as 127.0.0.1, as localhost, requests seen)."""
    servers = []

    def start():
        seen: list = []
        handler = type("Peer", (_Peer,), {"seen": seen})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki["chain"])
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        port = server.server_address[1]
        return handler, f"https://127.0.0.1:{port}", f"https://localhost:{port}", seen

    yield start
    outbound.close_idle()
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def trusted(pki, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["ca"]))


def test_a_peer_whose_certificate_chains_to_a_trusted_ca_answers(https_peer, trusted):
    _handler, url, _other, seen = https_peer()
    assert outbound.get(url + "/ok").json() == {"ok": True}
    pending = outbound.begin("POST", url + "/scores", headers={"Content-Type": "application/json"}, data="{}")
    assert pending.response().status_code == 200
    assert [(method, path) for method, path, _ in seen] == [("GET", "/ok"), ("POST", "/scores")]


@pytest.mark.parametrize("path", ["plain", "bulk"])
def test_an_untrusted_certificate_is_refused_on_both_paths(https_peer, monkeypatch, path):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    _handler, url, _other, seen = https_peer()
    with pytest.raises(outbound.OutboundError) as refused:
        if path == "plain":
            outbound.get(url + "/ok")
        else:
            outbound.begin("POST", url + "/scores", data="{}").response()
    assert refused.value.reason == f"the TLS certificate of {url.removeprefix('https://')} could not be verified"
    assert seen == []


@pytest.mark.parametrize("path", ["plain", "bulk"])
def test_credentials_stay_behind_on_a_redirect_to_another_host(https_peer, trusted, path):
    first, origin, _unused, seen_first = https_peer()
    _other, _unused, other_as_localhost, seen_other = https_peer()
    first.redirect_to = other_as_localhost + "/landing"
    headers = {"Authorization": "Bearer secret-token"}
    if path == "plain":
        response = outbound.get(origin + "/elsewhere", headers=headers)
    else:
        response = outbound.begin("GET", origin + "/elsewhere", headers=headers).response()
    assert response.status_code == 200
    assert seen_first == [("GET", "/elsewhere", "Bearer secret-token")]
    assert seen_other == [("GET", "/landing", None)]


def test_credentials_follow_a_redirect_on_the_same_host(https_peer, trusted):
    _handler, url, _other, seen = https_peer()
    outbound.get(url + "/here", headers={"Authorization": "Bearer secret-token"})
    assert seen == [("GET", "/here", "Bearer secret-token"), ("GET", "/landing", "Bearer secret-token")]


def test_a_registration_refuses_any_redirect_to_another_host(https_peer, trusted):
    first, origin, _unused, _seen = https_peer()
    _other, _unused, other_as_localhost, seen_other = https_peer()
    first.redirect_to = other_as_localhost + "/landing"
    with pytest.raises(outbound.OutboundError, match="redirected to another host"):
        outbound.get(origin + "/elsewhere", same_host_redirects_only=True)
    assert seen_other == []
