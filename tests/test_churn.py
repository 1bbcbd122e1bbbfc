"""Many live configurations and many rotations: bounded builds, sockets and descriptors.

One client certificate per tenant is the classic way to exceed any fixed-size
context cache. A context that a live session uses must never be evicted (or
each request would rebuild it: no keep-alive, no resumption, every CA file read
again), and a proxy manager must be closed when its context is replaced.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import trustme

from securesession import ClientCert, SecureSession, _cache

from ._proxy import connect_proxy
from .conftest import KeepAliveFactory, server_context

TENANTS = int(os.environ.get("SECURESESSION_CHURN_TENANTS", "1000"))
ROUNDS = 3


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def settle_to(limit: int, seconds: float = 20.0) -> int:
    """Wait for server threads to notice closed connections; return the fd count."""
    deadline = time.monotonic() + seconds
    while open_fds() > limit and time.monotonic() < deadline:
        time.sleep(0.1)
    return open_fds()


@contextmanager
def proxy_for(kind: str, ca: trustme.CA) -> Iterator[str]:
    tls = None if kind == "connect" else server_context(ca.issue_cert("127.0.0.1"))
    with connect_proxy(tls) as proxy:
        yield proxy.url


pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc fds")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["connect", "https"])
def test_a_thousand_tenants_build_once_and_hold_one_connection_each(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str, kind: str
) -> None:
    server = make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca, require_client_cert=True)
    identities = []
    for i in range(TENANTS):
        leaf = ca.issue_cert(f"t{i}@example.test", common_name=f"t{i}")
        identities.append(ClientCert(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes()))
    baseline = open_fds()
    with proxy_for(kind, ca) as proxy_url:
        builds = _cache.CACHE.builds
        with ExitStack() as stack:
            sessions = []
            for identity in identities:
                session = stack.enter_context(
                    SecureSession(ca_bundle=ca_path, client_cert=identity, resume_sessions=False)
                )
                session.proxies = {"https": proxy_url}
                sessions.append(session)
            after_round = []
            for _ in range(ROUNDS):
                for i, session in enumerate(sessions):
                    response = session.get(server.url_for("/"), timeout=30)
                    assert response.text == f"ok t{i}"
                after_round.append(open_fds())
            assert server.connections == TENANTS  # every later round reused its connection
            # Tenants' contexts plus, for an HTTPS proxy, the one proxy posture they share.
            assert _cache.CACHE.builds - builds == TENANTS + (kind == "https")
            assert after_round[-1] - after_round[0] <= 10, after_round  # no socket per request
        closed = settle_to(baseline + 10)
    print(f"{kind}: fds per round {after_round}, baseline {baseline}, after close {closed}")
    assert closed <= baseline + 10


def test_rotations_through_an_https_proxy_close_the_replaced_managers(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)
    server = make_keepalive(ca.issue_cert("127.0.0.1"))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    with proxy_for("https", ca) as proxy_url, SecureSession(ca_bundle=bundle) as session:
        session.proxies = {"https": proxy_url}
        assert session.get(server.url_for("/"), timeout=10).status_code == 200
        start = open_fds()
        for _ in range(30):
            bundle.write_bytes(ca.cert_pem.bytes())  # a rotation: a new context each time
            assert session.get(server.url_for("/"), timeout=10).status_code == 200
        grown = settle_to(start + 8) - start
    assert grown <= 8, f"{grown} descriptors left open by 30 rotations"


def test_close_closes_a_shared_adapter_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """One adapter serves https:// and http://: requests' close() would close it twice."""
    from securesession import TLSAdapter

    closed: list[int] = []
    real_close = TLSAdapter.close

    def counting_close(self: TLSAdapter) -> None:
        closed.append(id(self))
        real_close(self)

    monkeypatch.setattr(TLSAdapter, "close", counting_close)
    session = SecureSession()
    session.mount_tls("https://api.example.test/", session.tls.replace(resume_sessions=False))
    session.close()
    assert sorted(closed) == sorted({id(a) for a in session.adapters.values()})
