"""Every TLS failure class, provoked by a real local server, explains itself.

Each case is asserted by class, as a requests.exceptions.SSLError, and by message
content: the host and port, the cause in words, and a fix.
"""

from __future__ import annotations

import base64
import datetime
import logging
import os
import socket
import ssl
import threading
from pathlib import Path

import pytest
import requests
import trustme
from cryptography import x509
from pytest_httpserver import HTTPServer

from securesession import (
    CertificateExpiredError,
    CertificateNotYetValidError,
    CertificateRevokedError,
    CertificateVerificationError,
    ClientCert,
    ClientCertificateRejectedError,
    ClientCertificateRequiredError,
    HostnameMismatchError,
    IncompleteChainError,
    PinMismatchError,
    ProtocolVersionError,
    SecureSession,
    SelfSignedCertificateError,
    TLSConfig,
    TLSError,
    TLSInfo,
    UnknownIssuerError,
    UntrustedCertificateError,
    WeakCertificateError,
)
from securesession._testing import _allow_legacy, legacy_supported

from . import _certs
from ._server import KeepAliveHTTPSServer
from .conftest import KeepAliveFactory, pem_context, server_context

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def failure(url: str, **tls: object) -> TLSError:
    with SecureSession(**tls) as session, pytest.raises(TLSError) as info:  # type: ignore[arg-type]
        session.get(url, timeout=10)
    error = info.value
    assert isinstance(error, requests.exceptions.SSLError)  # existing handlers keep working
    assert isinstance(error.__cause__, requests.exceptions.RequestException)  # chained
    host_port = url.split("//")[1].rstrip("/")
    text = str(error)
    assert host_port in text
    assert "Fix:" in text
    assert "\n" not in text  # one paragraph
    return error


def test_hostname_mismatch(make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str) -> None:
    server = make_keepalive(ca.issue_cert("api.internal.example", "www.internal.example"))
    error = failure(server.url_for("/"), ca_bundle=ca_path)
    assert type(error) is HostnameMismatchError
    assert "not valid for '127.0.0.1'" in str(error)
    assert "api.internal.example, www.internal.example" in str(error)
    assert "server_hostname" in str(error)
    assert error.peer_names == ("api.internal.example", "www.internal.example")


def test_expired(expired_server: KeepAliveHTTPSServer, ca_path: str) -> None:
    error = failure(expired_server.url_for("/"), ca_bundle=ca_path)
    assert type(error) is CertificateExpiredError
    assert "has expired (1 days ago)" in str(error)
    assert "renew" in str(error)
    assert error.not_after is not None
    assert error.not_after < NOW


def test_not_yet_valid(make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str) -> None:
    cert = ca.issue_cert("127.0.0.1", not_before=NOW + 10 * DAY, not_after=NOW + 40 * DAY)
    error = failure(make_keepalive(cert).url_for("/"), ca_bundle=ca_path)
    assert type(error) is CertificateNotYetValidError
    assert isinstance(error, CertificateExpiredError)
    assert "not valid yet" in str(error)
    assert "clock" in str(error)
    assert f"{(NOW + 10 * DAY):%Y-%m-%d}" in str(error)


def test_self_signed(make_keepalive: KeepAliveFactory, tmp_path: Path, ca_path: str) -> None:
    server = make_keepalive(pem_context(tmp_path, *_certs.self_signed("127.0.0.1")))
    error = failure(server.url_for("/"), ca_bundle=ca_path)
    assert type(error) is SelfSignedCertificateError
    assert isinstance(error, UntrustedCertificateError)
    assert "self-signed" in str(error)
    assert "add its certificate to ca_bundle" in str(error)


def test_unknown_issuer(
    other_server: KeepAliveHTTPSServer, ca_path: str, other_ca: trustme.CA
) -> None:
    error = failure(other_server.url_for("/"), ca_bundle=ca_path)
    assert type(error) is UnknownIssuerError
    assert "issued by a CA that is not trusted" in str(error)
    assert ca_path in str(error)  # what this session trusts
    assert "add that CA's certificate to ca_bundle" in str(error)


def test_incomplete_chain(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str, tmp_path: Path
) -> None:
    intermediate = ca.create_child_ca()
    leaf, key = _certs.leaf_with_aia(
        intermediate, "127.0.0.1", aia_url="http://pki.example/intermediate.crt"
    )
    # The server sends only its leaf (a classic misconfiguration).
    error = failure(
        make_keepalive(pem_context(tmp_path, leaf, key)).url_for("/"), ca_bundle=ca_path
    )
    assert type(error) is IncompleteChainError
    assert "sent only its own certificate, not the intermediate" in str(error)
    assert "Browsers fetch" in str(error)
    assert "Python does not" in str(error)
    assert "http://pki.example/intermediate.crt" in str(error)
    # ... and with the chain sent, the same leaf verifies.
    full = make_keepalive(pem_context(tmp_path, leaf + intermediate.cert_pem.bytes(), key))
    with SecureSession(ca_bundle=ca_path) as session:
        assert session.get(full.url_for("/")).status_code == 200


def test_revoked(make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str) -> None:
    bad = ca.issue_cert("127.0.0.1")
    good = ca.issue_cert("127.0.0.1")
    revocations = _certs.crl(ca, [bad.cert_chain_pems[0].bytes()])
    error = failure(make_keepalive(bad).url_for("/"), ca_bundle=ca_path, crl=revocations)
    assert type(error) is CertificateRevokedError
    assert "revoked" in str(error)
    with SecureSession(ca_bundle=ca_path, crl=revocations) as session:
        assert session.get(make_keepalive(good).url_for("/")).status_code == 200


def test_crl_file_and_missing_crl_for_issuer(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    other_ca: trustme.CA,
    ca_path: str,
    other_ca_path: str,
    tmp_path: Path,
) -> None:
    crl_path = tmp_path / "ca.crl"
    crl_path.write_bytes(_certs.crl(ca, []))
    other = make_keepalive(other_ca.issue_cert("127.0.0.1"))
    with (
        SecureSession(ca_bundle=[ca_path, other_ca_path], crl=crl_path) as session,
        pytest.raises(TLSError, match="No CRL in TLSConfig"),
    ):
        session.get(other.url_for("/"))


@pytest.fixture(scope="session")
def rsa_ca() -> trustme.CA:
    return trustme.CA(key_type=trustme.KeyType.RSA)  # an RSA CA can sign with SHA-1


def weak_context(tmp_path: Path, cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # else the test server refuses its own weak cert
    path = tmp_path / f"weak-{len(list(tmp_path.iterdir()))}.pem"
    path.write_bytes(cert_pem + key_pem)
    ctx.load_cert_chain(path)
    return ctx


@pytest.mark.parametrize("case", ["rsa-1024 leaf", "sha-1 leaf", "rsa-1024 CA"])
def test_weak_certificate(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    rsa_ca: trustme.CA,
    ca_path: str,
    tmp_path: Path,
    case: str,
) -> None:
    if case == "rsa-1024 leaf":
        cert, key = _certs.rsa_1024_leaf(ca, "127.0.0.1")
        trust, code, weak = ca_path, 66, "the server's certificate has a 1024-bit RSA key"
    elif case == "sha-1 leaf":
        cert, key = _certs.sha1_leaf(rsa_ca, "127.0.0.1")
        trust = str(tmp_path / "rsa-ca.pem")
        rsa_ca.cert_pem.write_to_path(trust)
        code, weak = 68, "the server's certificate is signed with SHA-1"
    else:  # the weak key is the CA's, which the server does not send: found in the trust
        cert, key, ca_pem = _certs.rsa_1024_ca_leaf("127.0.0.1")
        trust = str(tmp_path / "weak-ca.pem")
        Path(trust).write_bytes(ca_pem)
        code, weak = 67, "its CA certificate CN=weak test CA has a 1024-bit RSA key"
    server = make_keepalive(weak_context(tmp_path, cert, key))
    error = failure(server.url_for("/"), ca_bundle=trust)
    assert type(error) is WeakCertificateError
    assert isinstance(error, CertificateVerificationError)
    assert error.verify_code == code
    assert weak in str(error)
    assert "reissue the certificate with an RSA key of at least 2048 bits" in str(error)
    assert "SHA-256" in str(error)


def test_pin_mismatch_sends_no_request_byte(ca: trustme.CA, ca_path: str) -> None:
    received = bytearray()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    listener = socket.create_server(("127.0.0.1", 0))
    handshakes = []

    def serve() -> None:
        conn, _ = listener.accept()
        conn.settimeout(10)
        with ctx.wrap_socket(conn, server_side=True) as tls:
            handshakes.append(tls.version())
            while chunk := tls.recv(65536):
                received.extend(chunk)

    thread = threading.Thread(target=serve)
    thread.start()
    wrong = "sha256//" + base64.b64encode(b"\0" * 32).decode()
    try:
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/"
        error = failure(url, ca_bundle=ca_path, pins=[wrong])
    finally:
        thread.join(timeout=10)
        listener.close()
    assert type(error) is PinMismatchError
    assert handshakes  # the handshake completed: the pin check came after it ...
    assert bytes(received) == b""  # ... and before any request byte
    assert error.expected == (wrong,)
    assert error.actual.startswith("sha256//")
    assert wrong in str(error)
    assert error.actual in str(error)


def test_right_pin_passes_and_pins_separate_pools(
    server: KeepAliveHTTPSServer, ca_path: str
) -> None:
    with SecureSession(ca_bundle=ca_path) as session:
        info = session.get(server.url_for("/")).tls
    assert info is not None
    with SecureSession(ca_bundle=ca_path, pins=[info.pin]) as session:
        assert session.get(server.url_for("/")).status_code == 200
        wrong = "sha256//" + base64.b64encode(b"\1" * 32).decode()
        session.mount_tls(server.url_for("/"), session.tls.replace(pins=[wrong]))
        with pytest.raises(PinMismatchError):  # not the pooled, pinned-OK connection
            session.get(server.url_for("/"))


def test_pins_apply_to_the_raw_context(server: KeepAliveHTTPSServer, ca_path: str) -> None:
    wrong = "sha256//" + base64.b64encode(b"\2" * 32).decode()
    ctx = TLSConfig(ca_bundle=ca_path, pins=[wrong]).ssl_context()
    port = int(server.url_for("/").rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port)) as raw, pytest.raises(ssl.SSLError):
        ctx.wrap_socket(raw, server_hostname="127.0.0.1")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_protocol_version(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str, version: ssl.TLSVersion
) -> None:
    server = make_keepalive(
        ca.issue_cert("127.0.0.1"), minimum_version=version, maximum_version=version
    )
    other = "1.3" if version is ssl.TLSVersion.TLSv1_2 else "1.2"
    error = failure(
        server.url_for("/"), ca_bundle=ca_path, minimum_version=other, maximum_version=other
    )
    assert type(error) is ProtocolVersionError
    assert f"This session allows TLS {other}" in str(error)
    assert f"the server speaks TLS {version.name[4:].replace('_', '.')}" in str(error)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_legacy_only_server_needs_an_upgrade(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str, version: ssl.TLSVersion
) -> None:
    if not legacy_supported(version):
        pytest.skip(f"this OpenSSL cannot serve {version.name}")
    ctx = server_context(ca.issue_cert("127.0.0.1"))
    _allow_legacy(ctx, version, version)
    error = failure(make_keepalive(ctx).url_for("/"), ca_bundle=ca_path)
    assert type(error) is ProtocolVersionError
    name = "TLS 1.0" if version is ssl.TLSVersion.TLSv1 else "TLS 1.1"
    assert f"the server speaks {name}" in str(error)
    assert "refuses TLS versions below 1.2 (deprecated by RFC 8996)" in str(error)
    assert "upgrade the server" in str(error)
    assert "minimum_version" not in str(error)  # no setting reaches below TLS 1.2


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_client_certificate_required(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str, version: ssl.TLSVersion
) -> None:
    server = make_keepalive(
        ca.issue_cert("127.0.0.1"),
        client_ca=ca,
        require_client_cert=True,
        maximum_version=version,
    )
    error = failure(server.url_for("/"), ca_bundle=ca_path)
    assert type(error) is ClientCertificateRequiredError
    assert "requires a client certificate" in str(error)
    assert "client_cert" in str(error)


def test_client_certificate_required_seen_as_eof(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str
) -> None:
    # TLS 1.3: the server asks for a certificate, then hangs up without an alert.
    server = make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca)
    server.close_anonymous = True
    error = failure(server.url_for("/"), ca_bundle=ca_path)
    assert type(error) is ClientCertificateRequiredError
    assert "closing after the handshake" in str(error)
    assert error.reason is None


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_client_certificate_rejected(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    other_ca: trustme.CA,
    ca_path: str,
    tmp_path: Path,
    version: ssl.TLSVersion,
) -> None:
    # An mTLS server that trusts another CA: TLS 1.2 refuses in the handshake (an
    # alert), TLS 1.3 after the client finished its half (alert on the first read).
    server = make_keepalive(
        ca.issue_cert("127.0.0.1"),
        client_ca=ca,
        require_client_cert=True,
        maximum_version=version,
    )
    stranger = other_ca.issue_cert("stranger@example.test", common_name="stranger")
    cert, key = tmp_path / "stranger.pem", tmp_path / "stranger.key"
    stranger.cert_chain_pems[0].write_to_path(cert)
    stranger.private_key_pem.write_to_path(key)
    error = failure(server.url_for("/"), ca_bundle=ca_path, client_cert=ClientCert(cert, key))
    assert type(error) is ClientCertificateRejectedError
    assert isinstance(error, ClientCertificateRequiredError)  # existing handlers keep working
    assert "rejected the client certificate this session sent, CN=stranger" in str(error)
    issuer = x509.load_pem_x509_certificate(other_ca.cert_pem.bytes()).subject.rfc4514_string()
    assert f"issued by {issuer}" in str(error)
    assert f"check that the server trusts {issuer}" in str(error)


def test_ordinary_connection_errors_are_untouched(ca_path: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    with (
        SecureSession(ca_bundle=ca_path) as session,
        pytest.raises(requests.exceptions.ConnectionError) as info,
    ):
        session.get(f"https://127.0.0.1:{port}/", timeout=5)
    assert not isinstance(info.value, TLSError)


# --- response.tls ------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_response_tls(
    server: KeepAliveHTTPSServer, ca: trustme.CA, ca_path: str, stream: bool
) -> None:
    with SecureSession(ca_bundle=ca_path, resume_sessions=False) as session:
        first = session.get(server.url_for("/"), stream=stream)
        first.close()
        again = session.get(server.url_for("/"), stream=stream)  # reused connection
    info = first.tls
    assert isinstance(info, TLSInfo)
    assert info.version == "TLSv1.3"
    assert info.cipher.startswith("TLS_")
    assert "127.0.0.1" in info.san
    assert info.issuer.startswith("OU=Testing CA")
    assert info.not_before < NOW < info.not_after
    assert info.pin == f"sha256//{info.spki_sha256}"
    assert len(base64.b64decode(info.spki_sha256)) == 32
    assert info.session_reused is False
    assert ssl.DER_cert_to_PEM_cert(info.peer_certificate_der) == _server_pem(server)
    assert again.tls == info  # captured when the connection was made
    assert "peer_certificate_der" not in repr(info)


def _server_pem(server: KeepAliveHTTPSServer) -> str:
    with socket.create_connection(("127.0.0.1", server.server_address[1])) as raw:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with ctx.wrap_socket(raw) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return ssl.DER_cert_to_PEM_cert(der)


def test_response_tls_is_none_for_http() -> None:
    plain = HTTPServer(host="127.0.0.1", port=0)
    plain.expect_request("/").respond_with_data("plain")
    plain.start()
    try:
        with SecureSession() as session:
            assert session.get(plain.url_for("/")).tls is None
    finally:
        plain.stop()


# --- server_hostname -----------------------------------------------------------------


def test_server_hostname_connects_by_ip_and_verifies_the_name(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str
) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("internal.example").configure_cert(ctx)
    sni: list[str | None] = []
    ctx.sni_callback = lambda sock, name, _ctx: sni.append(name)  # type: ignore[func-returns-value]
    server = make_keepalive(ctx)
    url = server.url_for("/")
    with SecureSession(ca_bundle=ca_path) as session, pytest.raises(HostnameMismatchError):
        session.get(url)
    with SecureSession(ca_bundle=ca_path, server_hostname="internal.example") as session:
        assert session.get(url).status_code == 200
        wrong = session.tls.replace(server_hostname="other.example")
        session.mount_tls(url, wrong)
        with pytest.raises(HostnameMismatchError, match="not valid for 'other.example'"):
            session.get(url)
    assert "internal.example" in sni


# --- expiry warnings, key log, logging -----------------------------------------------------


def test_server_expiry_warning_logged_once(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_keepalive(ca.issue_cert("127.0.0.1", not_after=NOW + 3 * DAY))
    with SecureSession(ca_bundle=ca_path) as session:
        for _ in range(3):
            session.get(server.url_for("/"), headers={"Connection": "close"})
    warnings = [r for r in caplog.records if "expires in" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    caplog.clear()
    with SecureSession(ca_bundle=ca_path, warn_expiry_days=None) as session:
        session.get(make_keepalive(ca.issue_cert("127.0.0.1", not_after=NOW + DAY)).url_for("/"))
    assert "expires in" not in caplog.text


def test_keylog_file(
    server: KeepAliveHTTPSServer,
    ca_path: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keylog = tmp_path / "keys.log"
    with SecureSession(ca_bundle=ca_path, keylog_file=keylog) as session:
        session.get(server.url_for("/"))
    assert "CLIENT_HANDSHAKE_TRAFFIC_SECRET" in keylog.read_text()
    assert "key logging is ON" in caplog.text
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog.with_suffix(".env")))
    assert TLSConfig(ca_bundle=ca_path).keylog_file == str(keylog.with_suffix(".env"))
    monkeypatch.delenv("SSLKEYLOGFILE")
    assert TLSConfig(ca_bundle=ca_path).keylog_file is None


def test_debug_log_names_trust_and_posture_but_no_secret(
    server: KeepAliveHTTPSServer, ca_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="securesession")
    with SecureSession(ca_bundle=ca_path, minimum_version="1.3") as session:
        session.get(server.url_for("/"))
    assert f"trust={ca_path}" in caplog.text
    assert "new TLS connection to 127.0.0.1" in caplog.text
    assert "TLSv1.3" in caplog.text
    assert all(r.name == "securesession" for r in caplog.records if "TLS" in r.getMessage())
    assert os.environ.get("SSLKEYLOGFILE") is None
