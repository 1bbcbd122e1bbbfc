"""Exact trust: what the TLSConfig says and nothing else, in every form ca_bundle takes."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import certifi
import pytest
import requests
import trustme

from securesession import (
    DEFAULT_CAS,
    SYSTEM_CAS,
    CertificateFileError,
    SecureSession,
    TLSAdapter,
    TLSConfig,
    UnknownIssuerError,
    _cache,
    _trust,
    build_ssl_context,
)

from ._server import KeepAliveHTTPSServer
from .conftest import KeepAliveFactory, write


def url(server: KeepAliveHTTPSServer, path: str = "/") -> str:
    return server.url_for(path)


def test_private_ca_session_gets_200(server: KeepAliveHTTPSServer, ca_path: str) -> None:
    with SecureSession(ca_bundle=ca_path) as session:
        response = session.get(url(server))
    assert response.status_code == 200
    assert response.text == "ok"


def test_private_ca_only_rejects_other_ca_even_if_certifi_trusts_it(
    server: KeepAliveHTTPSServer,
    other_server: KeepAliveHTTPSServer,
    ca_path: str,
    other_ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # certifi's bundle (as requests and certifi see it) now contains the other CA:
    # a requests.Session with default verification would trust other_server.
    fake_certifi = tmp_path / "cacert.pem"
    fake_certifi.write_bytes(Path(certifi.where()).read_bytes() + other_ca.cert_pem.bytes())
    monkeypatch.setattr(certifi, "where", lambda: str(fake_certifi))
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(fake_certifi))
    monkeypatch.setattr(requests.utils, "DEFAULT_CA_BUNDLE_PATH", str(fake_certifi))
    if not hasattr(requests.adapters, "_preloaded_ssl_context"):  # requests 2.32.x preloads
        with requests.Session() as plain:
            assert plain.get(url(other_server)).status_code == 200  # the hole we close

    tls = TLSConfig(ca_bundle=ca_path)
    before = tls.ssl_context().cert_store_stats()
    assert before["x509_ca"] == 1
    with SecureSession(tls) as session:
        assert session.get(url(server)).status_code == 200
        with pytest.raises(UnknownIssuerError, match="not trusted"):
            session.get(url(other_server))
        assert session.get(url(server)).status_code == 200
    assert tls.ssl_context().cert_store_stats() == before


def test_adapter_on_plain_session_keeps_exact_trust(
    server: KeepAliveHTTPSServer, other_server: KeepAliveHTTPSServer, ca_path: str
) -> None:
    tls = TLSConfig(ca_bundle=ca_path)
    with requests.Session() as session:
        session.mount("https://", TLSAdapter(tls))
        assert session.get(url(server)).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            session.get(url(other_server))
    assert tls.ssl_context().cert_store_stats()["x509_ca"] == 1


def test_in_memory_pem(server: KeepAliveHTTPSServer, ca: trustme.CA) -> None:
    with SecureSession(ca_bundle=ca.cert_pem.bytes()) as session:
        assert session.get(url(server)).status_code == 200


def test_in_memory_der(server: KeepAliveHTTPSServer, ca: trustme.CA) -> None:
    der = ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode())
    tls = TLSConfig(ca_bundle=der)
    assert tls.ssl_context().cert_store_stats()["x509_ca"] == 1
    with SecureSession(tls) as session:
        assert session.get(url(server)).status_code == 200


def test_der_file(server: KeepAliveHTTPSServer, ca: trustme.CA, tmp_path: Path) -> None:
    der = ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode())
    with SecureSession(ca_bundle=write(tmp_path / "ca.der", der)) as session:
        assert session.get(url(server)).status_code == 200


def test_pem_with_comments_and_non_ascii_labels(
    server: KeepAliveHTTPSServer, ca: trustme.CA, tmp_path: Path
) -> None:
    data = "# Issuer: CN=Fábrica Nacional\n".encode() + ca.cert_pem.bytes() + b"\n# trailer\n"
    with SecureSession(ca_bundle=write(tmp_path / "bundle.pem", data)) as session:
        assert session.get(url(server)).status_code == 200


def test_directory_bundle_needs_no_rehash(
    server: KeepAliveHTTPSServer, other_server: KeepAliveHTTPSServer, ca: trustme.CA, tmp_path: Path
) -> None:
    (tmp_path / "corp-root.crt").write_bytes(ca.cert_pem.bytes())
    (tmp_path / "README.txt").write_text("not a certificate")
    (tmp_path / "sub").mkdir()
    tls = TLSConfig(ca_bundle=tmp_path)
    assert tls.ssl_context().cert_store_stats()["x509_ca"] == 1
    with SecureSession(tls) as session:
        assert session.get(url(server)).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            session.get(url(other_server))


def test_merged_sources_trust_each(
    server: KeepAliveHTTPSServer,
    other_server: KeepAliveHTTPSServer,
    ca: trustme.CA,
    other_ca_path: str,
) -> None:
    with SecureSession(ca_bundle=[ca.cert_pem.bytes(), other_ca_path]) as session:
        assert session.get(url(server)).status_code == 200
        assert session.get(url(other_server)).status_code == 200


def test_default_cas_plus_private_ca(server: KeepAliveHTTPSServer, ca_path: str) -> None:
    certifi_count = TLSConfig().ssl_context().cert_store_stats()["x509_ca"]
    assert certifi_count > 100
    tls = TLSConfig(ca_bundle=[DEFAULT_CAS, ca_path])
    assert tls.ssl_context().cert_store_stats()["x509_ca"] == certifi_count + 1
    with SecureSession(tls) as session:
        assert session.get(url(server)).status_code == 200


def test_default_config_does_not_trust_a_private_ca(server: KeepAliveHTTPSServer) -> None:
    with SecureSession() as session, pytest.raises(requests.exceptions.SSLError):
        session.get(url(server))


def test_system_cas_load_the_os_store(server: KeepAliveHTTPSServer) -> None:
    paths = ssl.get_default_verify_paths()
    if not (paths.openssl_cafile and os.path.exists(paths.openssl_cafile)):
        pytest.skip("this machine has no OpenSSL default CA file")
    assert TLSConfig(ca_bundle=SYSTEM_CAS).ssl_context().cert_store_stats()["x509_ca"] > 0
    with (
        SecureSession(ca_bundle=SYSTEM_CAS) as session,
        pytest.raises(requests.exceptions.SSLError),
    ):
        session.get(url(server))


def test_equal_configs_share_one_context(ca_path: str) -> None:
    a = SecureSession(ca_bundle=ca_path)
    b = SecureSession(TLSConfig(ca_bundle=[ca_path]))
    assert a.tls.ssl_context() is b.tls.ssl_context() is build_ssl_context(a.tls)
    assert TLSConfig(ca_bundle=ca_path, minimum_version="1.3").ssl_context() is not (
        a.tls.ssl_context()
    )
    a.close()
    b.close()


def test_contexts_are_read_only(ca_path: str) -> None:
    ctx = TLSConfig(ca_bundle=ca_path).ssl_context()
    with pytest.raises(RuntimeError, match="read-only"):
        ctx.load_verify_locations(certifi.where())
    with pytest.raises(RuntimeError, match="read-only"):
        ctx.load_default_certs()
    with pytest.raises(RuntimeError, match="read-only"):
        ctx.verify_mode = ssl.CERT_NONE
    with pytest.raises(RuntimeError, match="read-only"):
        ctx.check_hostname = False
    with pytest.raises(RuntimeError, match="read-only"):
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    ctx.verify_mode = ssl.CERT_REQUIRED  # same value: what urllib3 does, allowed
    ctx.set_alpn_protocols(["http/1.1"])  # not part of the trust posture
    assert ctx.cert_store_stats()["x509_ca"] == 1


def test_rotated_file_is_reloaded(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    other_ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    old = make_keepalive(ca.issue_cert("127.0.0.1"))
    new = make_keepalive(other_ca.issue_cert("127.0.0.1"))
    with SecureSession(ca_bundle=bundle) as session:
        first = session.tls.ssl_context()
        assert session.get(url(old)).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            session.get(url(new))
        # write-then-rename, as config management tools do
        staging = tmp_path / "bundle.pem.tmp"
        staging.write_bytes(other_ca.cert_pem.bytes())
        os.replace(staging, bundle)
        session.tls.ssl_context()  # first check: changed; waits for the file to hold still
        assert session.get(url(new), headers={"Connection": "close"}).status_code == 200
        assert session.tls.ssl_context() is not first
        with pytest.raises(requests.exceptions.SSLError):
            session.get(url(old))


def test_unchanged_files_are_not_read_again(ca_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)
    tls = TLSConfig(ca_bundle=ca_path)
    first = tls.ssl_context()
    reads: list[str] = []
    real_load = _trust._load_file
    monkeypatch.setattr(
        _trust, "_load_file", lambda ctx, p, stamps: reads.append(p) or real_load(ctx, p, stamps)
    )
    for _ in range(5):
        assert tls.ssl_context() is first
    assert reads == []
    Path(ca_path).touch()  # a new mtime, already one (zero-second) interval old: reloaded
    assert tls.ssl_context() is not first
    assert reads == [ca_path]


def test_broken_rotation_fails_closed(
    ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    tls = TLSConfig(ca_bundle=bundle)
    first = tls.ssl_context()
    bundle.write_text("-----BEGIN CERTIFICATE-----\ntrunc")  # a bad rotation
    with pytest.raises(CertificateFileError, match="bundle.pem"):
        tls.ssl_context()
    assert "TLS trust no longer loads" in caplog.text
    bundle.write_bytes(ca.cert_pem.bytes())
    assert tls.ssl_context() is not first
