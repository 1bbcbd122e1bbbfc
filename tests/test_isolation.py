"""Connection pools never mix TLS postures (CVE-2024-35195 and its relatives)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import trustme
import urllib3

from securesession import (
    CertificateExpiredError,
    HostnameMismatchError,
    SecureSession,
    TLSConfig,
    UnknownIssuerError,
)

from ._server import KeepAliveHTTPSServer
from .conftest import KeepAliveFactory


def test_verify_false_then_default_must_fail(
    expired_server: KeepAliveHTTPSServer, ca_path: str
) -> None:
    url = expired_server.url_for("/")
    with SecureSession(ca_bundle=ca_path) as session:
        shared = session.tls.ssl_context()
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
            assert session.get(url, verify=False).status_code == 200
        assert expired_server.connections == 1
        # The unverified connection is idle in its pool now; it must not be reused.
        with pytest.raises(CertificateExpiredError, match="has expired"):
            session.get(url)
        assert len(expired_server.requests) == 1  # nothing was sent on the unverified one
        assert session.tls.ssl_context() is shared
        assert shared.verify_mode.name == "CERT_REQUIRED"


def test_session_verify_false_then_true(expired_server: KeepAliveHTTPSServer, ca_path: str) -> None:
    url = expired_server.url_for("/")
    with SecureSession(ca_bundle=ca_path) as session:
        session.verify = False
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
            assert session.get(url).status_code == 200
        session.verify = True
        with pytest.raises(requests.exceptions.SSLError):
            session.get(url)


def test_verify_ca1_then_ca2_must_fail(
    server: KeepAliveHTTPSServer, ca_path: str, other_ca_path: str
) -> None:
    url = server.url_for("/")
    with SecureSession() as session:
        assert session.get(url, verify=ca_path).status_code == 200
        assert server.connections == 1  # kept alive in the pool
        with pytest.raises(requests.exceptions.SSLError):
            session.get(url, verify=other_ca_path)
        assert session.get(url, verify=ca_path).status_code == 200


def test_same_posture_reuses_one_connection(server: KeepAliveHTTPSServer, ca_path: str) -> None:
    with SecureSession(ca_bundle=ca_path) as session:
        for _ in range(5):
            assert session.get(server.url_for("/")).status_code == 200
    assert server.connections == 1


def _client_cert_files(ca: trustme.CA, name: str, directory: Path) -> tuple[str, str]:
    leaf = ca.issue_cert(f"{name}@example.test", common_name=name)
    cert = directory / f"{name}.pem"
    key = directory / f"{name}-key.pem"
    leaf.cert_chain_pems[0].write_to_path(cert)
    leaf.private_key_pem.write_to_path(key)
    return str(cert), str(key)


def test_per_request_cert_change_opens_a_new_connection(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str, tmp_path: Path
) -> None:
    mtls = make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca)
    alice = _client_cert_files(ca, "alice", tmp_path)
    bob = _client_cert_files(ca, "bob", tmp_path)
    url = mtls.url_for("/")
    with SecureSession(ca_bundle=ca_path) as session:
        assert session.get(url).text == "ok"  # no certificate presented
        assert session.get(url, cert=alice).text == "ok alice"
        assert session.get(url, cert=alice).text == "ok alice"
        assert mtls.connections == 2
        assert session.get(url, cert=bob).text == "ok bob"
        assert mtls.connections == 3
        assert session.get(url).text == "ok"  # back on the anonymous connection
        assert mtls.connections == 3


def test_session_cert_and_config_cert(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str, tmp_path: Path
) -> None:
    mtls = make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca)
    alice = _client_cert_files(ca, "alice", tmp_path)
    bob = _client_cert_files(ca, "bob", tmp_path)
    url = mtls.url_for("/")
    with SecureSession(ca_bundle=ca_path, client_cert=alice) as session:
        assert session.get(url).text == "ok alice"
        session.cert = bob  # session attribute beats the config
        assert session.get(url).text == "ok bob"
        assert session.get(url, cert=alice).text == "ok alice"  # request beats session


def test_check_hostname_false_still_verifies_the_chain(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, other_ca: trustme.CA, ca_path: str
) -> None:
    wrong_name = make_keepalive(ca.issue_cert("elsewhere.example"))
    untrusted = make_keepalive(other_ca.issue_cert("127.0.0.1"))
    with (
        SecureSession(ca_bundle=ca_path) as session,
        pytest.raises(HostnameMismatchError, match="not valid for"),
    ):
        session.get(wrong_name.url_for("/"))
    with SecureSession(ca_bundle=ca_path, check_hostname=False) as session:
        assert session.get(wrong_name.url_for("/")).status_code == 200
        with pytest.raises(UnknownIssuerError):
            session.get(untrusted.url_for("/"))


def test_config_verify_false_warns_on_every_request(expired_server: KeepAliveHTTPSServer) -> None:
    with SecureSession(verify=False) as session:
        for _ in range(2):
            with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
                assert session.get(expired_server.url_for("/")).status_code == 200
    # and a verify=True request on that session still means "the config": unverified
    assert TLSConfig(verify=False).ssl_context().verify_mode.name == "CERT_NONE"
