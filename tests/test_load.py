"""Load: one session shared by 8 threads, 500 requests each, against HTTPS and mTLS servers."""

from __future__ import annotations

import gc
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import trustme

from securesession import ClientCert, SecureSession, TLSAdapter

from ._server import KeepAliveHTTPSServer
from .conftest import KeepAliveFactory

THREADS, PER_THREAD = 8, 500


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def hammer(session: SecureSession, url: str, per_thread: int = PER_THREAD) -> list[BaseException]:
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(per_thread):
            try:
                response = session.get(url, timeout=30)
                assert response.status_code == 200
            except BaseException as exc:  # every failure is counted below
                with lock:
                    errors.append(exc)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for future in [pool.submit(worker) for _ in range(THREADS)]:
            future.result()
    return errors


def settle_fds(baseline: int, server: KeepAliveHTTPSServer) -> int:
    """The fd count once the server has noticed the client closed (bounded wait)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        gc.collect()
        if server.active == 0 and open_fds() <= baseline:
            break
        time.sleep(0.05)
    return open_fds()


@pytest.mark.slow
@pytest.mark.parametrize("mtls", [False, True], ids=["https", "mtls"])
def test_eight_threads_500_requests_each(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str, mtls: bool
) -> None:
    server = make_keepalive(
        ca.issue_cert("127.0.0.1"), client_ca=ca if mtls else None, require_client_cert=mtls
    )
    identity = None
    if mtls:
        leaf = ca.issue_cert("load@example.test", common_name="load")
        identity = ClientCert(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())
    SecureSession(ca_bundle=ca_path, client_cert=identity).close()  # context built outside
    baseline = open_fds()
    session = SecureSession(ca_bundle=ca_path, client_cert=identity)
    started = time.monotonic()
    errors = hammer(session, server.url_for("/"))
    elapsed = time.monotonic() - started
    session.close()
    assert errors == []
    assert len(server.requests) == THREADS * PER_THREAD
    assert all(cn == ("load" if mtls else "") for _, cn in server.requests)
    assert server.max_active <= 10  # pool_maxsize per host: never more sockets than that
    assert server.connections <= 10  # and they were reused, not reopened
    assert settle_fds(baseline, server) <= baseline  # nothing leaked after close
    print(f"{THREADS * PER_THREAD} requests in {elapsed:.1f} s, {server.connections} connections")


@pytest.mark.slow
def test_blocking_small_pool(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str
) -> None:
    server = make_keepalive(ca.issue_cert("127.0.0.1"))
    session = SecureSession(ca_bundle=ca_path)
    session.mount("https://", TLSAdapter(session.tls, pool_maxsize=2, pool_block=True))
    baseline = open_fds()
    errors = hammer(session, server.url_for("/"), per_thread=100)
    session.close()
    assert errors == []
    assert len(server.requests) == THREADS * 100
    assert server.max_active <= 2  # threads waited for one of the two connections
    assert settle_fds(baseline, server) <= baseline


def test_fd_count_is_stable_across_sessions(server: KeepAliveHTTPSServer, ca_path: str) -> None:
    SecureSession(ca_bundle=ca_path).close()
    baseline = open_fds()
    for _ in range(20):
        with SecureSession(ca_bundle=ca_path) as session:
            session.get(server.url_for("/"))
    assert settle_fds(baseline, server) <= baseline
