"""Rotating CA bundles and client certificates on disk under a live request loop.

Every request forces a new connection (``Connection: close``), so each one uses the
context the cache holds at that moment. Writers are deliberately slow (a pause in
the middle of the file), to prove a half-written file is never loaded.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme

from securesession import ClientCert, SecureSession, _cache

from .conftest import KeepAliveFactory

CLOSE = {"Connection": "close"}
# Documented: a change is used once files held still for one interval.
DEADLINE = 2 * _cache.RECHECK_INTERVAL + 2.0


def write_slowly(path: Path, data: bytes) -> None:
    """An in-place rewrite that leaves the file half-written for a while."""
    with open(path, "wb") as f:  # truncates: the old content is gone at once
        f.write(data[: len(data) // 2])
        f.flush()
        time.sleep(0.3)  # < RECHECK_INTERVAL: a reader must not load this
        f.write(data[len(data) // 2 :])


def write_then_rename(path: Path, data: bytes) -> None:
    staging = path.with_suffix(".new")
    staging.write_bytes(data)
    os.replace(staging, path)


WRITERS = [write_slowly, write_then_rename]


@contextmanager
def request_loop(fn: Callable[[], object]) -> Iterator[dict[str, int]]:
    """Call ``fn`` in a thread until the block ends; count successes and failures."""
    stats = {"ok": 0, "failed": 0}
    stop = threading.Event()
    failures: list[BaseException] = []

    def loop() -> None:
        deadline = time.monotonic() + 60  # bounded, whatever happens
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                fn()
                stats["ok"] += 1
            except BaseException as exc:  # counted and reported below
                stats["failed"] += 1
                failures.append(exc)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        yield stats
    finally:
        stop.set()
        thread.join(timeout=30)
    assert failures == [], failures[:3]


def wait_until(predicate: Callable[[], bool], seconds: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"not true within {seconds} s")


def succeeds(session: SecureSession, url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return session.get(url, headers=CLOSE, timeout=10).status_code == 200
        except Exception:  # not yet: the old bundle is still in use
            return False

    return check


@pytest.mark.slow
@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.__name__)
def test_ca_bundle_rotation(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    other_ca: trustme.CA,
    tmp_path: Path,
    writer: Callable[[Path, bytes], None],
) -> None:
    old_server = make_keepalive(ca.issue_cert("127.0.0.1"))
    new_server = make_keepalive(other_ca.issue_cert("127.0.0.1"))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    with SecureSession(ca_bundle=bundle) as session, SecureSession(ca_bundle=bundle) as checker:
        loop_url = old_server.url_for("/")
        with request_loop(lambda: session.get(loop_url, headers=CLOSE, timeout=10)) as stats:
            time.sleep(0.3)
            # The new CA first: a reader that stopped half-way would lose the old one.
            writer(bundle, other_ca.cert_pem.bytes() + ca.cert_pem.bytes())
            took = wait_until(succeeds(checker, new_server.url_for("/")), DEADLINE)
            time.sleep(0.3)
        assert stats["ok"] > 10
    print(f"new bundle in use {took:.2f} s after the write; {stats['ok']} requests, 0 failed")


@pytest.mark.slow
@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.__name__)
def test_client_certificate_rotation(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    ca_path: str,
    tmp_path: Path,
    writer: Callable[[Path, bytes], None],
) -> None:
    server = make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca, require_client_cert=True)
    cert, key = tmp_path / "client.pem", tmp_path / "client-key.pem"
    old = ca.issue_cert("old@example.test", common_name="old-identity")
    cert.write_bytes(old.cert_chain_pems[0].bytes())
    key.write_bytes(old.private_key_pem.bytes())
    identity = ClientCert(cert, key)
    url = server.url_for("/")
    with SecureSession(ca_bundle=ca_path, client_cert=identity) as session:
        with request_loop(lambda: session.get(url, headers=CLOSE, timeout=10)) as stats:
            time.sleep(0.3)
            new = ca.issue_cert("new@example.test", common_name="new-identity")
            # Two files, one after the other: in between, the key does not match the cert.
            writer(cert, new.cert_chain_pems[0].bytes())
            writer(key, new.private_key_pem.bytes())
            took = wait_until(lambda: server.requests[-1][1] == "new-identity", DEADLINE)
            time.sleep(0.3)
        assert stats["ok"] > 10
    names = [cn for _, cn in server.requests]
    assert set(names) == {"old-identity", "new-identity"}
    switch = names.index("new-identity")
    assert "old-identity" not in names[switch:]  # once switched, never back
    print(f"new identity in use {took:.2f} s after the write; {stats['ok']} requests, 0 failed")
