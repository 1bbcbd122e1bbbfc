"""TLS versions and ciphers, against servers limited to TLS 1.2 or TLS 1.3."""

from __future__ import annotations

import ssl

import pytest
import requests
import trustme

from securesession import ProtocolVersionError, SecureSession, TLSConfig

from ._server import KeepAliveHTTPSServer
from .conftest import KeepAliveFactory

TLS12 = ssl.TLSVersion.TLSv1_2
TLS13 = ssl.TLSVersion.TLSv1_3


@pytest.fixture
def tls12_only(make_keepalive: KeepAliveFactory, ca: trustme.CA) -> KeepAliveHTTPSServer:
    return make_keepalive(ca.issue_cert("127.0.0.1"), maximum_version=TLS12)


@pytest.fixture
def tls13_only(make_keepalive: KeepAliveFactory, ca: trustme.CA) -> KeepAliveHTTPSServer:
    return make_keepalive(ca.issue_cert("127.0.0.1"), minimum_version=TLS13)


def negotiated(session: requests.Session, url: str) -> tuple[str, str]:
    with session.get(url, stream=True) as response:
        sock = response.raw.connection.sock
        return sock.version(), sock.cipher()[0]


def test_default_negotiates_the_best_version(
    tls12_only: KeepAliveHTTPSServer, tls13_only: KeepAliveHTTPSServer, ca_path: str
) -> None:
    with SecureSession(ca_bundle=ca_path) as session:
        assert negotiated(session, tls12_only.url_for("/"))[0] == "TLSv1.2"
        assert negotiated(session, tls13_only.url_for("/"))[0] == "TLSv1.3"


def test_minimum_13_refuses_a_12_server(
    tls12_only: KeepAliveHTTPSServer, tls13_only: KeepAliveHTTPSServer, ca_path: str
) -> None:
    with SecureSession(ca_bundle=ca_path, minimum_version="1.3") as session:
        assert negotiated(session, tls13_only.url_for("/"))[0] == "TLSv1.3"
        with pytest.raises(ProtocolVersionError, match="server speaks TLS 1.2"):
            session.get(tls12_only.url_for("/"))


def test_maximum_12_refuses_a_13_server(
    tls12_only: KeepAliveHTTPSServer, tls13_only: KeepAliveHTTPSServer, ca_path: str
) -> None:
    with SecureSession(ca_bundle=ca_path, maximum_version="1.2") as session:
        assert negotiated(session, tls12_only.url_for("/"))[0] == "TLSv1.2"
        with pytest.raises(requests.exceptions.SSLError):
            session.get(tls13_only.url_for("/"))


def test_ciphers_restrict_tls12_suites(tls12_only: KeepAliveHTTPSServer, ca_path: str) -> None:
    tls = TLSConfig(ca_bundle=ca_path, maximum_version="1.2", ciphers="ECDHE+CHACHA20")
    with SecureSession(tls) as session:
        version, cipher = negotiated(session, tls12_only.url_for("/"))
    assert version == "TLSv1.2"
    assert "CHACHA20" in cipher


def test_version_posture_is_per_config_pool(tls12_only: KeepAliveHTTPSServer, ca_path: str) -> None:
    url = tls12_only.url_for("/")
    with SecureSession(ca_bundle=ca_path) as session:
        assert session.get(url).status_code == 200  # pooled TLS 1.2 connection
        session.mount_tls(url, session.tls.replace(minimum_version="1.3"))
        with pytest.raises(requests.exceptions.SSLError):
            session.get(url)  # not the pooled 1.2 connection
