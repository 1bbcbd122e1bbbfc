"""TLS session resumption: on by default, per posture and server, never across identities."""

from __future__ import annotations

import ssl

import pytest
import trustme

from securesession import ClientCert, SecureSession, TLSConfig

from .conftest import KeepAliveFactory

CLOSE = {"Connection": "close"}  # every request a new connection


def reused(session: SecureSession, url: str, n: int = 3) -> list[bool]:
    return [session.get(url, headers=CLOSE).tls.session_reused for _ in range(n)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_second_connection_resumes(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str, version: ssl.TLSVersion
) -> None:
    server = make_keepalive(ca.issue_cert("127.0.0.1"), maximum_version=version)
    with SecureSession(ca_bundle=ca_path) as session:
        assert reused(session, server.url_for("/")) == [False, True, True]
    assert server.connections == 3


def test_switch_turns_it_off(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str
) -> None:
    server = make_keepalive(ca.issue_cert("127.0.0.1"))
    with SecureSession(ca_bundle=ca_path, resume_sessions=False) as session:
        assert reused(session, server.url_for("/")) == [False, False, False]


def test_never_across_trust_postures(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, other_ca_path: str, ca_path: str
) -> None:
    url = make_keepalive(ca.issue_cert("127.0.0.1")).url_for("/")
    with SecureSession(ca_bundle=ca_path) as first:
        assert reused(first, url, 2) == [False, True]
    wider = TLSConfig(ca_bundle=[ca_path, other_ca_path])
    with SecureSession(wider) as second:
        assert reused(second, url, 2) == [False, True]  # its own first handshake is full
    with SecureSession(ca_bundle=ca_path, minimum_version="1.3") as third:
        assert reused(third, url, 1) == [False]


def test_never_across_client_identities(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str
) -> None:
    server = make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca)  # optional client auth
    url = server.url_for("/")

    def identity(name: str) -> ClientCert:
        leaf = ca.issue_cert(f"{name}@example.test", common_name=name)
        return ClientCert(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())

    with SecureSession(ca_bundle=ca_path, client_cert=identity("alice")) as alice:
        assert reused(alice, url, 2) == [False, True]
        assert alice.get(url, headers=CLOSE).text == "ok alice"  # resumed, still alice
    with SecureSession(ca_bundle=ca_path, client_cert=identity("bob")) as bob:
        first = bob.get(url, headers=CLOSE)
        assert first.tls.session_reused is False  # type: ignore[attr-defined]
        assert first.text == "ok bob"
    with SecureSession(ca_bundle=ca_path) as anonymous:
        first = anonymous.get(url, headers=CLOSE)
        assert first.tls.session_reused is False  # type: ignore[attr-defined]
        assert first.text == "ok"


def test_never_across_servers(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str
) -> None:
    a = make_keepalive(ca.issue_cert("127.0.0.1")).url_for("/")
    b = make_keepalive(ca.issue_cert("127.0.0.1")).url_for("/")
    with SecureSession(ca_bundle=ca_path) as session:
        assert reused(session, a, 2) == [False, True]
        assert reused(session, b, 1) == [False]


def test_pins_still_checked_on_resumed_connections(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str
) -> None:
    url = make_keepalive(ca.issue_cert("127.0.0.1")).url_for("/")
    with SecureSession(ca_bundle=ca_path) as probe:
        pin = probe.get(url).tls.pin  # type: ignore[attr-defined]
    with SecureSession(ca_bundle=ca_path, pins=[pin]) as session:
        assert reused(session, url, 2) == [False, True]
