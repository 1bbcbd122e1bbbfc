"""Misbehaving servers: each failure is typed and readable, and the session stays usable."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests
import trustme

from securesession import (
    PinMismatchError,
    SecureSession,
    TLSError,
    TLSHandshakeTimeoutError,
    UnknownIssuerError,
)

from ._server import KeepAliveHTTPSServer
from .conftest import server_context

Behaviour = Callable[[socket.socket, int], None]


@contextlib.contextmanager
def fault_server(behaviour: Behaviour) -> Iterator[str]:
    """Accept on 127.0.0.1 and hand each connection (and its index) to ``behaviour``."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def loop() -> None:
        index = 0
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)
            conn.settimeout(10)
            with contextlib.suppress(OSError):
                behaviour(conn, index)
            index += 1

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def never_handshakes(conn: socket.socket, index: int) -> None:
    """Accept TCP, then say nothing (the socket is held open until the test ends)."""


def resets_mid_handshake(conn: socket.socket, index: int) -> None:
    conn.recv(1024)  # the ClientHello
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # RST


def answers_garbage(conn: socket.socket, index: int) -> None:
    conn.recv(1024)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    conn.close()


@pytest.fixture
def good(server: KeepAliveHTTPSServer) -> str:
    return server.url_for("/")


def still_usable(session: requests.Session, good: str) -> None:
    assert session.get(good, timeout=10).status_code == 200


def test_handshake_never_completes(ca_path: str, good: str) -> None:
    connect_timeout = 0.5
    with fault_server(never_handshakes) as url, SecureSession(ca_bundle=ca_path) as session:
        start = time.monotonic()
        with pytest.raises(TLSHandshakeTimeoutError) as info:
            session.get(url, timeout=(connect_timeout, 60))
        elapsed = time.monotonic() - start
        assert elapsed < 6 * connect_timeout  # governed by the connect timeout, not the read one
        assert isinstance(info.value, requests.exceptions.ConnectTimeout)
        assert isinstance(info.value, requests.exceptions.Timeout)
        assert "did not finish within 0.5 s" in str(info.value)
        still_usable(session, good)


def test_reset_mid_handshake(ca_path: str, good: str) -> None:
    with fault_server(resets_mid_handshake) as url, SecureSession(ca_bundle=ca_path) as session:
        with pytest.raises(requests.exceptions.ConnectionError) as info:
            session.get(url, timeout=5)
        assert isinstance(info.value, TLSError)
        assert "reset" in str(info.value)
        assert "during the TLS handshake" in str(info.value)
        still_usable(session, good)


def test_garbage_instead_of_server_hello(ca_path: str, good: str) -> None:
    with fault_server(answers_garbage) as url, SecureSession(ca_bundle=ca_path) as session:
        with pytest.raises(TLSError) as info:
            session.get(url, timeout=5)
        assert "did not answer with TLS" in str(info.value)
        assert "plain HTTP" in str(info.value)
        assert "Fix:" in str(info.value)
        still_usable(session, good)


def test_closes_right_after_the_handshake(ca: trustme.CA, ca_path: str, good: str) -> None:
    ctx = server_context(ca.issue_cert("127.0.0.1"))

    def handshake_then_close(conn: socket.socket, index: int) -> None:
        ctx.wrap_socket(conn, server_side=True).close()

    with fault_server(handshake_then_close) as url, SecureSession(ca_bundle=ca_path) as session:
        with pytest.raises(requests.exceptions.ConnectionError) as info:
            session.get(url, timeout=5)
        assert "closed" in str(info.value).lower() or "aborted" in str(info.value).lower()
        still_usable(session, good)


def test_different_certificate_on_the_second_connection(
    ca: trustme.CA, other_ca: trustme.CA, ca_path: str, good: str
) -> None:
    contexts = [
        server_context(ca.issue_cert("127.0.0.1")),
        server_context(other_ca.issue_cert("127.0.0.1")),  # an interceptor's certificate
    ]

    def alternate(conn: socket.socket, index: int) -> None:
        with contexts[index % 2].wrap_socket(conn, server_side=True) as tls:
            tls.recv(65536)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    with fault_server(alternate) as url, SecureSession(ca_bundle=ca_path) as session:
        assert session.get(url, timeout=5).text == "ok"
        with pytest.raises(UnknownIssuerError):
            session.get(url, timeout=5)
        still_usable(session, good)
    with fault_server(alternate) as url:
        with SecureSession(ca_bundle=ca_path) as probe:
            pin = probe.get(url, timeout=5).tls.pin  # type: ignore[attr-defined]
        trusting_both = [ca_path, other_ca.cert_pem.bytes()]
        with SecureSession(ca_bundle=trusting_both, pins=[pin]) as session:
            with pytest.raises(PinMismatchError):  # both CAs trusted: only the pin catches it
                session.get(url, timeout=5)
            assert session.get(url, timeout=5).text == "ok"


def test_session_survives_a_storm_of_failures(ca_path: str, good: str) -> None:
    with (
        SecureSession(ca_bundle=ca_path) as session,
        fault_server(answers_garbage) as garbage,
        fault_server(resets_mid_handshake) as reset,
    ):
        for _ in range(10):
            for url in (garbage, reset):
                with pytest.raises(TLSError):
                    session.get(url, timeout=5)
            still_usable(session, good)
