"""One test per secure default documented in README "Security"."""

from __future__ import annotations

import datetime
import logging
import ssl

import pytest
import requests
import trustme
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from securesession import (
    HostnameMismatchError,
    ProtocolVersionError,
    SecureSession,
    TLSConfig,
    TLSConfigError,
)

from .conftest import KeepAliveFactory, pem_context


@pytest.fixture
def ctx(ca_path: str) -> ssl.SSLContext:
    return TLSConfig(ca_bundle=ca_path).ssl_context()


def test_tls_12_minimum_and_no_way_below(
    ctx: ssl.SSLContext, make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str
) -> None:
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    for old in ("1.0", "1.1", ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.SSLv3):
        with pytest.raises(TLSConfigError):
            TLSConfig(minimum_version=old)
    server = make_keepalive(ca.issue_cert("127.0.0.1"), maximum_version=ssl.TLSVersion.TLSv1_2)
    with SecureSession(ca_bundle=ca_path) as session:  # 1.2 still works ...
        assert session.get(server.url_for("/")).tls.version == "TLSv1.2"  # type: ignore[attr-defined]


def test_tls_11_server_is_refused(tls_server_factory, secure_session) -> None:  # type: ignore[no-untyped-def]
    server = tls_server_factory(minimum_version="1.1", maximum_version="1.1")
    with pytest.raises(ProtocolVersionError):
        secure_session.get(server.url_for("/"))


def test_certificates_and_hostnames_are_verified(ctx: ssl.SSLContext) -> None:
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True
    assert ctx.security_level >= 2  # OpenSSL: >= 112-bit keys, no SHA-1 signatures


def test_no_common_name_fallback(
    ctx: ssl.SSLContext, make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    assert ctx.hostname_checks_common_name is False
    # A certificate whose only name is its CN: RFC 6125 and browsers say no.
    issuer = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    issuer_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    pems = (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    server = make_keepalive(pem_context(tmp_path, *pems))
    with SecureSession(ca_bundle=ca_path) as session, pytest.raises(HostnameMismatchError):
        session.get(server.url_for("/"))


def test_protocol_options(ctx: ssl.SSLContext) -> None:
    assert ctx.options & ssl.OP_NO_COMPRESSION  # CRIME
    assert ctx.options & ssl.OP_NO_SSLv3
    assert not ctx.options & ssl.OP_NO_TICKET  # tickets on: resumption, scoped per posture
    assert ctx.post_handshake_auth is False  # no client certificate asked for after the fact


def test_cipher_suites_are_modern(ctx: ssl.SSLContext) -> None:
    names = [c["name"] for c in ctx.get_ciphers()]
    assert names
    for weak in ("RC4", "DES", "NULL", "MD5", "EXPORT", "anon", "PSK", "CCM"):
        assert not [n for n in names if weak in n], weak
    tls12 = [n for n in names if not n.startswith("TLS_")]
    assert all("ECDHE" in n or "DHE" in n for n in tls12)  # forward secrecy only
    assert not [n for n in tls12 if n.endswith("-SHA")]  # no SHA-1 MACs


def test_verify_flags(ctx: ssl.SSLContext) -> None:
    assert ctx.verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN  # a configured intermediate anchors
    assert not ctx.verify_flags & ssl.VERIFY_X509_STRICT  # real-world certificates still verify


def test_alpn_is_http11_only(ctx: ssl.SSLContext, server, ca_path: str) -> None:  # type: ignore[no-untyped-def]
    with (
        SecureSession(ca_bundle=ca_path) as session,
        session.get(server.url_for("/"), stream=True) as response,
    ):
        assert response.raw.connection.sock.selected_alpn_protocol() in (None, "http/1.1")


def test_no_key_log_unless_asked(ctx: ssl.SSLContext) -> None:
    assert ctx.keylog_filename is None


def test_verify_false_is_loud_and_isolated(
    expired_server, ca_path: str, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING, logger="securesession")
    with SecureSession(ca_bundle=ca_path) as session:
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
            session.get(expired_server.url_for("/"), verify=False)
        assert "verification DISABLED" in caplog.text
        assert session.tls.ssl_context().verify_mode == ssl.CERT_REQUIRED
        with pytest.raises(requests.exceptions.SSLError):
            session.get(expired_server.url_for("/"))


def test_failure_never_falls_back(other_server, ca_path: str) -> None:  # type: ignore[no-untyped-def]
    with SecureSession(ca_bundle=ca_path) as session:
        for _ in range(3):
            with pytest.raises(requests.exceptions.SSLError):
                session.get(other_server.url_for("/"))
    assert other_server.requests == []  # nothing was ever sent to the untrusted server


def test_contexts_refuse_mutation(ctx: ssl.SSLContext) -> None:
    with pytest.raises(RuntimeError):
        ctx.verify_mode = ssl.CERT_NONE
    with pytest.raises(RuntimeError):
        ctx.load_default_certs()
