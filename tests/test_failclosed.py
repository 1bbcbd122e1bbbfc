"""Rotation promises: removed trust is gone, a broken identity keeps the last good one.

DESIGN.md, "Hard guarantees": a trust source that no longer loads fails closed
(new connections raise `CertificateFileError` naming it until it loads again); a
client identity that does not load keeps the last good one; both log at ERROR.
A change is in use for the first new connection made `RECHECK_INTERVAL` after its
last write, also when the process was idle meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import ssl
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme

from securesession import CertificateFileError, ClientCert, SecureSession, TLSConfig, _cache

from .conftest import KeepAliveFactory

CLOSE = {"Connection": "close"}


def _empty(path: Path, ca: trustme.CA) -> None:
    path.write_bytes(b"")


def _garbage(path: Path, ca: trustme.CA) -> None:
    path.write_bytes(b"# not a certificate\n" * 50)


def _truncated(path: Path, ca: trustme.CA) -> None:
    path.write_bytes(ca.cert_pem.bytes()[:200])


@pytest.mark.parametrize("breaks", [_empty, _garbage, _truncated], ids=lambda f: f.__name__[1:])
def test_a_bundle_that_no_longer_loads_trusts_nothing(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    breaks: Callable[[Path, trustme.CA], None],
) -> None:
    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)
    server = make_keepalive(ca.issue_cert("127.0.0.1"))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    with SecureSession(ca_bundle=bundle) as session:
        assert session.get(server.url_for("/"), timeout=10).status_code == 200
        breaks(bundle, ca)
        for _ in range(3):  # on every request, not only the first after the change
            with pytest.raises(CertificateFileError, match=r"bundle\.pem"):
                session.get(server.url_for("/"), timeout=10)
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert errors
        assert "bundle.pem" in errors[0].getMessage()
        bundle.write_bytes(ca.cert_pem.bytes())  # repaired: in use again
        assert session.get(server.url_for("/"), timeout=10).status_code == 200


def test_deleting_the_only_ca_file_of_a_directory_fails_closed(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)
    server = make_keepalive(ca.issue_cert("127.0.0.1"))
    directory = tmp_path / "cas"
    directory.mkdir()
    (directory / "ca.pem").write_bytes(ca.cert_pem.bytes())
    (directory / "README").write_text("managed by config management\n")
    with SecureSession(ca_bundle=directory) as session:
        assert session.get(server.url_for("/"), headers=CLOSE, timeout=10).status_code == 200
        (directory / "ca.pem").unlink()
        with pytest.raises(CertificateFileError, match="cas"):
            session.get(server.url_for("/"), headers=CLOSE, timeout=10)


def test_a_held_context_refuses_new_handshakes_while_trust_is_broken(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpx and urllib3 users keep the context object itself: it fails closed too."""
    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)
    server = make_keepalive(ca.issue_cert("127.0.0.1"))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    tls = TLSConfig(ca_bundle=bundle)
    held = tls.ssl_context()
    bundle.write_bytes(b"")
    with pytest.raises(CertificateFileError):
        tls.ssl_context()
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        pytest.raises(CertificateFileError, match=r"bundle\.pem"),
    ):
        held.wrap_socket(raw, server_hostname="127.0.0.1")
    bundle.write_bytes(ca.cert_pem.bytes())
    tls.ssl_context()  # loads again: the held context may connect again too
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        held.wrap_socket(raw, server_hostname="127.0.0.1").close()


def test_a_broken_identity_keeps_the_last_good_one_with_current_trust(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    other_ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)
    old_trust = make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca, require_client_cert=True)
    new_trust = make_keepalive(
        other_ca.issue_cert("127.0.0.1"), client_ca=ca, require_client_cert=True
    )
    leaf = ca.issue_cert("tenant@example.test", common_name="tenant")
    cert, key, bundle = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    cert.write_bytes(leaf.cert_chain_pems[0].bytes())
    key.write_bytes(leaf.private_key_pem.bytes())
    bundle.write_bytes(ca.cert_pem.bytes())
    with SecureSession(ca_bundle=bundle, client_cert=ClientCert(cert, key)) as session:
        assert session.get(old_trust.url_for("/"), headers=CLOSE, timeout=10).text == "ok tenant"
        key.write_bytes(b"garbage")  # a broken rotation of the identity...
        bundle.write_bytes(other_ca.cert_pem.bytes())  # ...together with a new CA
        for _ in range(2):
            # The last good identity, presented under the *new* trust.
            assert session.get(new_trust.url_for("/"), headers=CLOSE, timeout=10).text == (
                "ok tenant"
            )
        with pytest.raises(requests.exceptions.SSLError):
            session.get(old_trust.url_for("/"), headers=CLOSE, timeout=10)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("k.pem" in message for message in errors), errors


def test_an_idle_process_uses_a_rotated_bundle_on_its_first_request(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, other_ca: trustme.CA, tmp_path: Path
) -> None:
    """No second observation needed: the file's own mtime says it held still."""
    old = make_keepalive(ca.issue_cert("127.0.0.1"))
    new = make_keepalive(other_ca.issue_cert("127.0.0.1"))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    with SecureSession(ca_bundle=bundle) as session:
        assert session.get(old.url_for("/"), headers=CLOSE, timeout=10).status_code == 200
        staging = tmp_path / "bundle.new"
        staging.write_bytes(other_ca.cert_pem.bytes())
        os.replace(staging, bundle)
        time.sleep(_cache.RECHECK_INTERVAL + 0.2)  # idle: no request in between
        assert session.get(new.url_for("/"), headers=CLOSE, timeout=10).status_code == 200


def test_a_write_younger_than_the_interval_is_not_loaded_yet(
    ca: trustme.CA, other_ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.5)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    tls = TLSConfig(ca_bundle=bundle)
    first = tls.ssl_context()
    time.sleep(0.6)  # the re-check is due
    bundle.write_bytes(other_ca.cert_pem.bytes()[:300])  # a writer half-way through
    assert tls.ssl_context() is first  # too young: maybe still being written
    bundle.write_bytes(other_ca.cert_pem.bytes())
    time.sleep(0.6)
    assert tls.ssl_context() is not first


def test_atomic_replaces_during_first_builds_never_fail(
    ca: trustme.CA, other_ca: trustme.CA, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    contents = [ca.cert_pem.bytes() * 40, other_ca.cert_pem.bytes() * 40]  # slower to read
    stop = threading.Event()

    def churn() -> None:
        for i in range(100_000):
            if stop.is_set():
                return
            staging = tmp_path / f"bundle.{i % 2}"
            staging.write_bytes(contents[i % 2])
            os.replace(staging, bundle)

    writer = threading.Thread(target=churn)
    writer.start()
    try:
        for days in range(300):  # 300 distinct configurations: 300 first builds
            TLSConfig(ca_bundle=bundle, warn_expiry_days=days).ssl_context()
    finally:
        stop.set()
        writer.join(10)


@pytest.mark.parametrize("how", ["replaced", "deleted then rewritten"])
def test_a_held_context_stops_trusting_a_rotated_away_ca(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    other_ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    """A -> B: whoever kept the old context (httpx, urllib3) must not trust A any more."""
    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)
    server = make_keepalive(ca.issue_cert("127.0.0.1"))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    tls = TLSConfig(ca_bundle=bundle)
    first = tls.ssl_context()
    bundle.write_bytes(ca.cert_pem.bytes() + other_ca.cert_pem.bytes())  # adds B: A stays
    held = tls.ssl_context()
    assert held is not first
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        first.wrap_socket(raw, server_hostname="127.0.0.1").close()  # nothing removed: fine
    if how == "deleted then rewritten":
        bundle.unlink()
        with pytest.raises(CertificateFileError):
            tls.ssl_context()
    bundle.write_bytes(other_ca.cert_pem.bytes())  # A removed
    current = tls.ssl_context()
    for old in (first, held):
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
            pytest.raises(CertificateFileError, match="rotated"),
        ):
            old.wrap_socket(raw, server_hostname="127.0.0.1")
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        current.wrap_socket(raw, server_hostname="127.0.0.1")  # B does not vouch for A


def test_a_file_that_keeps_being_touched_is_loaded_all_the_same(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    other_ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.5)
    old = make_keepalive(ca.issue_cert("127.0.0.1"))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    with SecureSession(ca_bundle=bundle) as session:
        assert session.get(old.url_for("/"), headers=CLOSE, timeout=10).status_code == 200
        bundle.write_bytes(other_ca.cert_pem.bytes())  # A removed...
        refused_after = None
        start = time.monotonic()
        while time.monotonic() - start < 5:
            os.utime(bundle)  # ...and a sidecar touches the file every 0.2 s
            try:
                session.get(old.url_for("/"), headers=CLOSE, timeout=10)
            except requests.exceptions.SSLError:
                refused_after = time.monotonic() - start
                break
            time.sleep(0.2)
    assert refused_after is not None, "the removed CA stayed trusted while the file was touched"


def test_a_refusal_racing_a_rotation_is_typed_or_retried(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    other_ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pool is picked with a context that fails closed before it connects."""
    from securesession import TLSAdapter

    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)
    server = make_keepalive(other_ca.issue_cert("127.0.0.1"))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem.bytes() + other_ca.cert_pem.bytes())
    after_pick: list[Callable[[], object]] = []

    class RacingAdapter(TLSAdapter):
        def get_connection_with_tls_context(self, *args: Any, **kwargs: Any) -> Any:
            pool = super().get_connection_with_tls_context(*args, **kwargs)
            while after_pick:
                after_pick.pop()()  # another thread's re-check, right now
            return pool

    with SecureSession(ca_bundle=bundle) as session:
        session.mount("https://", RacingAdapter(session.tls))
        assert session.get(server.url_for("/"), headers=CLOSE, timeout=10).status_code == 200
        # A rotation that removes A retires the picked context: retried with the new one.
        after_pick.append(lambda: (bundle.write_bytes(other_ca.cert_pem.bytes()), tls_now()))
        tls_now = session.tls.ssl_context
        assert session.get(server.url_for("/"), headers=CLOSE, timeout=10).status_code == 200
        # Trust that no longer loads: the typed error, not a wrapped ConnectionError.
        after_pick.append(lambda: (bundle.write_bytes(b""), _swallow(tls_now)))
        with pytest.raises(CertificateFileError, match=r"bundle\.pem"):
            session.get(server.url_for("/"), headers=CLOSE, timeout=10)


def _swallow(fn: Callable[[], object]) -> None:
    with contextlib.suppress(CertificateFileError):
        fn()


def test_an_mtime_in_the_future_does_not_delay_rotation(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, other_ca: trustme.CA, tmp_path: Path
) -> None:
    new = make_keepalive(other_ca.issue_cert("127.0.0.1"))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    with SecureSession(ca_bundle=bundle) as session:
        session.tls.ssl_context()
        bundle.write_bytes(other_ca.cert_pem.bytes())
        future = time.time() + 3600
        os.utime(bundle, (future, future))  # a wrong clock on whatever wrote it
        time.sleep(_cache.RECHECK_INTERVAL + 0.2)
        assert session.get(new.url_for("/"), headers=CLOSE, timeout=10).status_code == 200


def test_an_existing_key_log_file_is_made_private(
    server_url: str, ca_path: str, tmp_path: Path
) -> None:
    keylog = tmp_path / "keys.log"
    keylog.write_bytes(b"")
    keylog.chmod(0o644)
    with SecureSession(ca_bundle=ca_path, keylog_file=keylog) as session:
        assert session.get(server_url, timeout=10).status_code == 200
    assert stat.S_IMODE(keylog.stat().st_mode) == 0o600
