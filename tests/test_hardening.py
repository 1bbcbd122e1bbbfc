"""Regression tests for holes a review found: each one once weakened or hid something."""

from __future__ import annotations

import asyncio
import base64
import pickle
import socket
import ssl
from pathlib import Path

import pytest
import requests
import trustme
import urllib3

from securesession import (
    CertificateFileError,
    ClientCert,
    ClientCertificateRequiredError,
    PinMismatchError,
    SecureSession,
    TLSAdapter,
    TLSConfig,
    UnknownIssuerError,
)

from ._proxy import connect_proxy
from ._server import KeepAliveHTTPSServer
from .conftest import KeepAliveFactory, server_context


def test_pem_text_passed_as_a_path_is_never_echoed(ca: trustme.CA, tmp_path: Path) -> None:
    leaf = ca.issue_cert("client")
    key_text = leaf.private_key_pem.bytes().decode()
    (tmp_path / "c.pem").write_bytes(leaf.cert_chain_pems[0].bytes())
    with pytest.raises(TypeError) as info:
        ClientCert(str(tmp_path / "c.pem"), key_text)  # type: ignore[arg-type]
    assert "PRIVATE KEY" not in str(info.value)
    assert key_text[40:80] not in str(info.value)
    assert "as bytes" in str(info.value)


def test_https_proxy_never_sees_the_origin_client_cert_or_pins(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str
) -> None:
    origin = make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca)
    leaf = ca.issue_cert("origin-client@example.test", common_name="origin-client")
    identity = ClientCert(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())
    with SecureSession(ca_bundle=ca_path, client_cert=identity) as session:
        pin = session.get(origin.url_for("/")).tls.pin  # type: ignore[attr-defined]
    proxy_ctx = server_context(ca.issue_cert("127.0.0.1"), client_ca=ca)  # asks for a cert
    with (
        connect_proxy(proxy_ctx) as proxy,
        SecureSession(ca_bundle=ca_path, client_cert=identity, pins=[pin]) as session,
    ):
        session.proxies = {"https": proxy.url}
        assert session.get(origin.url_for("/")).text == "ok origin-client"  # pinned, via proxy
    assert proxy.client_certs == [None]  # the proxy was not shown the origin's identity


def test_pins_apply_to_memory_bio_connections(server: KeepAliveHTTPSServer, ca_path: str) -> None:
    wrong = "sha256//" + base64.b64encode(b"\3" * 32).decode()
    ctx = TLSConfig(ca_bundle=ca_path, pins=[wrong]).ssl_context()

    async def fetch() -> bytes:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.port, ssl=ctx, server_hostname="127.0.0.1"
        )
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = await reader.read()
        writer.close()
        return data

    with pytest.raises(ssl.SSLError, match="pin mismatch"):
        asyncio.run(fetch())
    assert server.requests == []


def test_pins_with_a_socket_wrapped_before_connect(
    server: KeepAliveHTTPSServer, ca_path: str
) -> None:
    with SecureSession(ca_bundle=ca_path) as session:
        pin = session.get(server.url_for("/")).tls.pin  # type: ignore[attr-defined]
    ctx = TLSConfig(ca_bundle=ca_path, pins=[pin]).ssl_context()
    with ctx.wrap_socket(socket.socket(), server_hostname="127.0.0.1") as sock:
        sock.connect(("127.0.0.1", server.port))  # handshake (and pin check) happen here
        assert sock.version() == "TLSv1.3"


def test_plain_session_env_bundle_never_overrides_explicit_ca_bundle(
    other_server: KeepAliveHTTPSServer,
    server: KeepAliveHTTPSServer,
    ca_path: str,
    other_ca_path: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_ca_path)
    with requests.Session() as session:
        session.mount("https://", TLSAdapter(TLSConfig(ca_bundle=ca_path)))
        assert session.get(server.url_for("/")).status_code == 200
        with pytest.raises(UnknownIssuerError):
            session.get(other_server.url_for("/"))  # requests passed verify=$REQUESTS_CA_BUNDLE


def test_environment_change_is_seen_by_a_live_session(
    server: KeepAliveHTTPSServer,
    other_server: KeepAliveHTTPSServer,
    ca_path: str,
    other_ca_path: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "other.pem").write_bytes(Path(other_ca_path).read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", ca_path)
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with SecureSession() as session:
        assert session.get(other_server.url_for("/")).status_code == 200
        monkeypatch.delenv("SSL_CERT_DIR")
        with pytest.raises(UnknownIssuerError):
            session.get(other_server.url_for("/"))
        assert session.get(server.url_for("/")).status_code == 200


def test_ssl_cert_dir_is_a_path_list(
    other_server: KeepAliveHTTPSServer,
    other_ca_path: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "other.pem").write_bytes(Path(other_ca_path).read_bytes())
    (tmp_path / "a" / "nothing.txt").write_text("no certificates here")
    monkeypatch.setenv("SSL_CERT_DIR", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    with SecureSession() as session, pytest.raises(CertificateFileError, match="SSL_CERT_DIR"):
        session.get(other_server.url_for("/"))  # directory a holds no certificate: an error
    (tmp_path / "a" / "other.pem").write_bytes(Path(other_ca_path).read_bytes())
    with SecureSession() as session:
        assert session.get(other_server.url_for("/")).status_code == 200


def test_rejected_client_cert_is_always_classified(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, other_ca: trustme.CA, ca_path: str
) -> None:
    server = make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca, require_client_cert=True)
    stranger = other_ca.issue_cert("stranger@example.test", common_name="stranger")
    identity = ClientCert(stranger.cert_chain_pems[0].bytes(), stranger.private_key_pem.bytes())
    for _ in range(20):  # TLS 1.3 shows the rejection as an alert or as a hang-up: both
        with (
            SecureSession(ca_bundle=ca_path, client_cert=identity) as session,
            pytest.raises(ClientCertificateRequiredError, match="rejected the client certificate"),
        ):
            session.get(server.url_for("/"))


def test_urllib3_timeout_object_keeps_the_typed_error(
    other_server: KeepAliveHTTPSServer, ca_path: str
) -> None:
    with SecureSession(ca_bundle=ca_path) as session, pytest.raises(UnknownIssuerError):
        session.get(other_server.url_for("/"), timeout=urllib3.Timeout(connect=3, read=3))


def test_mount_tls_prefix_stops_at_the_host(ca_path: str) -> None:
    with SecureSession(ca_bundle=ca_path) as session:
        adapter = session.mount_tls("https://api.example.com", TLSConfig(ca_bundle=ca_path))
        assert session.get_adapter("https://api.example.com/v1") is adapter
        assert session.get_adapter("https://api.example.com.evil.net/") is not adapter


def test_pkcs12_client_cert_pickles_without_a_plaintext_key(ca: trustme.CA) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    leaf = ca.issue_cert("p12")
    data = pkcs12.serialize_key_and_certificates(
        b"p12",
        serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None),  # type: ignore[arg-type]
        x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()),
        None,
        serialization.BestAvailableEncryption(b"bundle-password"),
    )
    cert = ClientCert.from_pkcs12(data, password="bundle-password")
    dumped = pickle.dumps(cert)
    assert b"BEGIN PRIVATE KEY" not in dumped
    assert b"ENCRYPTED PRIVATE KEY" in dumped
    assert pickle.loads(dumped) == cert


def test_pin_error_keeps_working_through_tls_errors(
    server: KeepAliveHTTPSServer, ca_path: str
) -> None:
    wrong = "sha256//" + base64.b64encode(b"\4" * 32).decode()
    with SecureSession(ca_bundle=ca_path, pins=[wrong]) as session:
        with pytest.raises(PinMismatchError):
            session.get(server.url_for("/"))
        with pytest.raises(requests.exceptions.SSLError):
            session.get(server.url_for("/"))


# --- a second review -------------------------------------------------------------------


def _unparseable_certificate_context(tmp_path: Path) -> ssl.SSLContext:
    """A certificate OpenSSL loads but cryptography rejects (two extensions, one OID)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID, ObjectIdentifier

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1234)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
    )
    for arc in ("1", "2"):
        oid = ObjectIdentifier(f"1.3.6.1.4.1.99999.{arc}")
        builder = builder.add_extension(x509.UnrecognizedExtension(oid, b"\x05\x00"), False)
    der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    first = bytes.fromhex("2b06010401868d1f01")  # the OID body of ...99999.1
    at = der.rfind(first[:-1] + b"\x02")
    der = der[:at] + first + der[at + len(first) :]  # the second one now repeats the first
    path = tmp_path / "odd.pem"
    path.write_bytes(
        ssl.DER_cert_to_PEM_cert(der).encode()
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(path)
    return ctx


def test_a_certificate_cryptography_cannot_parse_never_crashes(
    make_keepalive: KeepAliveFactory, ca_path: str, tmp_path: Path
) -> None:
    url = make_keepalive(_unparseable_certificate_context(tmp_path)).url_for("/")
    with (
        SecureSession(verify=False) as session,
        pytest.warns(urllib3.exceptions.InsecureRequestWarning),
    ):
        response = session.get(url)
    assert response.status_code == 200
    assert response.tls is None  # type: ignore[attr-defined]  # no details, still a response
    with SecureSession(ca_bundle=ca_path) as session, pytest.raises(requests.exceptions.SSLError):
        session.get(url)  # the explanation failed: the original error, not a crash
    pin = "sha256//" + base64.b64encode(b"\5" * 32).decode()
    with (
        SecureSession(verify=False, pins=[pin]) as session,
        pytest.raises(PinMismatchError, match="cannot be parsed"),
    ):
        session.get(url)  # fails closed


def test_a_server_hanging_up_on_a_request_is_not_a_certificate_problem(
    ca: trustme.CA, ca_path: str
) -> None:
    from .test_faults import fault_server

    ctx = server_context(ca.issue_cert("127.0.0.1"), client_ca=ca)  # asks for a certificate

    def read_then_hang_up(conn: socket.socket, index: int) -> None:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(65536)  # the request arrives, then the server just closes

    leaf = ca.issue_cert("ok@example.test", common_name="fine")
    identity = ClientCert(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())
    for tls_kwargs in ({"client_cert": identity}, {}):
        with (
            fault_server(read_then_hang_up) as url,
            SecureSession(ca_bundle=ca_path, **tls_kwargs) as session,  # type: ignore[arg-type]
            pytest.raises(requests.exceptions.ConnectionError) as info,
        ):
            session.get(url, timeout=5)
        assert not isinstance(info.value, ClientCertificateRequiredError)


def test_a_failing_password_callable_on_rotation_never_reaches_requests(
    server: KeepAliveHTTPSServer, ca: trustme.CA, ca_path: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from securesession import _cache

    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)
    leaf = ca.issue_cert("rot@example.test", common_name="rot")
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_bytes(leaf.cert_chain_pems[0].bytes())
    key.write_bytes(leaf.private_key_pem.bytes())
    calls = {"n": 0}

    def password() -> str:
        calls["n"] += 1
        if calls["n"] > 2:  # the vault went away after the session was built
            raise RuntimeError("vault unavailable")
        return "unused"  # the key is not encrypted: the password is never needed

    with SecureSession(
        ca_bundle=ca_path, client_cert=ClientCert(cert, key, password=password)
    ) as s:
        assert s.get(server.url_for("/")).status_code == 200
        cert.touch()  # a "rotation"
        for _ in range(4):  # seen, held still, reloaded (fails), served from the old one
            assert s.get(server.url_for("/"), headers={"Connection": "close"}).status_code == 200


def test_a_skipped_directory_file_completed_in_place_is_loaded(
    other_server: KeepAliveHTTPSServer,
    other_ca_path: str,
    ca_path: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from securesession import _cache

    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)
    (tmp_path / "ca.pem").write_bytes(Path(ca_path).read_bytes())
    late = tmp_path / "late.pem"
    late.write_bytes(b"")  # created empty: skipped at first
    with SecureSession(ca_bundle=tmp_path) as session:
        with pytest.raises(UnknownIssuerError):
            session.get(other_server.url_for("/"))
        with open(late, "r+b") as f:  # completed in place: the directory does not change
            f.write(Path(other_ca_path).read_bytes())
        session.tls.ssl_context()
        session.tls.ssl_context()
        assert session.get(other_server.url_for("/")).status_code == 200


def test_bytes_method_like_requests(server: KeepAliveHTTPSServer, ca_path: str) -> None:
    with SecureSession(ca_bundle=ca_path) as session:
        assert session.request(b"GET", server.url_for("/")).status_code == 200  # type: ignore[arg-type]


def test_resumption_key_uses_the_origin_port_behind_a_proxy(
    server: KeepAliveHTTPSServer, ca_path: str
) -> None:
    with connect_proxy() as proxy, SecureSession(ca_bundle=ca_path) as session:
        session.proxies = {"https": proxy.url}
        session.get(server.url_for("/"), headers={"Connection": "close"})
        cache = session.tls.ssl_context()._securesession_sessions  # type: ignore[attr-defined]
        assert list(cache._sessions) == [("127.0.0.1", server.port)]
        assert session.get(server.url_for("/")).tls.session_reused  # type: ignore[attr-defined]
