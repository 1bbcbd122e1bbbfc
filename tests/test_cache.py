"""The context cache under re-entrancy and concurrency: no global lock around user code.

The password callable of an encrypted client key runs inside a context build. It
may itself make HTTPS requests (a vault client), block for a while, or run in
many threads at once; none of that may deadlock or stall other configurations.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from securesession import ClientCert, SecureSession, TLSConfig, TLSConfigError, _cache

from ._bounded import finishes
from .conftest import KeepAliveFactory

PASSWORD = b"vault-secret"
CLOSE = {"Connection": "close"}


def encrypted_identity(ca: trustme.CA, tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A client certificate and its key encrypted with PASSWORD, as files."""
    leaf = ca.issue_cert(f"{name}@example.test", common_name=name)
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}-key.pem"
    cert_path.write_bytes(leaf.cert_chain_pems[0].bytes())
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSWORD),
        )
    )
    return cert_path, key_path


def test_password_callable_that_makes_requests_never_deadlocks(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    ca_path: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The README's ``password=lambda: vault.get("pw")`` with an HTTPS vault client."""
    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)  # every request re-checks
    vault = make_keepalive(ca.issue_cert("127.0.0.1"))
    api = make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca, require_client_cert=True)
    cert, key = encrypted_identity(ca, tmp_path, "tenant")
    vault_calls = 0

    def password() -> bytes:
        nonlocal vault_calls
        # A fresh configuration each time: its first build happens inside ours.
        with SecureSession(ca_bundle=ca_path, warn_expiry_days=vault_calls) as vault_client:
            assert vault_client.get(vault.url_for("/pw"), timeout=10).status_code == 200
        vault_calls += 1
        return PASSWORD

    def scenario() -> None:
        identity = ClientCert(cert, key, password=password)
        with SecureSession(ca_bundle=ca_path, client_cert=identity) as session:
            assert session.get(api.url_for("/"), headers=CLOSE, timeout=10).text == "ok tenant"
            key.touch()  # a rotation: the rebuild runs the callable again
            time.sleep(0.02)
            assert session.get(api.url_for("/"), headers=CLOSE, timeout=10).text == "ok tenant"

    finishes(scenario)
    assert vault_calls >= 3  # ClientCert, the first build, the rebuild


def test_a_slow_build_does_not_stall_other_configurations(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    ca_path: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)
    server = make_keepalive(ca.issue_cert("127.0.0.1"))
    cert, key = encrypted_identity(ca, tmp_path, "slow")
    release, entered = threading.Event(), threading.Event()
    blocking = False

    def password() -> bytes:
        if blocking:
            entered.set()
            release.wait(30)  # a vault that takes its time
        return PASSWORD

    slow = TLSConfig(ca_bundle=ca_path, client_cert=ClientCert(cert, key, password=password))
    other = SecureSession(ca_bundle=ca_path)  # already built: only its re-check is due
    blocking = True
    builder = threading.Thread(target=slow.ssl_context, daemon=True)
    builder.start()
    try:
        assert entered.wait(10)
        # While that build waits on its password, others build and re-check freely.
        assert finishes(lambda: TLSConfig(ca_bundle=ca_path, resume_sessions=False).ssl_context())
        assert finishes(lambda: other.get(server.url_for("/"), timeout=10).status_code) == 200
    finally:
        release.set()
        builder.join(10)
        other.close()


def test_one_configuration_is_built_once_by_many_threads(
    ca: trustme.CA, ca_path: str, tmp_path: Path
) -> None:
    cert, key = encrypted_identity(ca, tmp_path, "flight")
    calls = 0
    ready = threading.Event()

    def password() -> bytes:
        nonlocal calls
        calls += 1
        if ready.is_set():
            time.sleep(0.3)  # long enough for every thread to arrive meanwhile
        return PASSWORD

    tls = TLSConfig(ca_bundle=ca_path, client_cert=ClientCert(cert, key, password=password))
    calls, builds = 0, _cache.CACHE.builds
    ready.set()
    contexts: list[object] = []
    threads = [
        threading.Thread(target=lambda: contexts.append(tls.ssl_context())) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(contexts) == 8
    assert len({id(c) for c in contexts}) == 1
    assert (calls, _cache.CACHE.builds - builds) == (1, 1)  # single flight


def test_a_callable_that_needs_its_own_configuration_is_an_error(
    ca: trustme.CA, ca_path: str, tmp_path: Path
) -> None:
    cert, key = encrypted_identity(ca, tmp_path, "loop")
    configs: list[TLSConfig] = []

    def password() -> bytes:
        if configs:
            configs[0].ssl_context()  # the very configuration being built
        return PASSWORD

    configs.append(
        TLSConfig(ca_bundle=ca_path, client_cert=ClientCert(cert, key, password=password))
    )
    with pytest.raises(TLSConfigError, match="needs itself"):
        finishes(configs[0].ssl_context)


def test_two_callables_that_need_each_other_across_threads_do_not_deadlock(
    ca: trustme.CA, ca_path: str, tmp_path: Path
) -> None:
    """X's password needs Y and Y's needs X, both first built at once in two threads."""
    configs: dict[str, TLSConfig] = {}
    both_started = threading.Barrier(2, timeout=10)
    armed = False

    waited: set[str] = set()

    def needing(other: str) -> Callable[[], bytes]:
        def password() -> bytes:
            if armed:
                if other not in waited:
                    waited.add(other)
                    both_started.wait()  # each thread is inside its own build now
                configs[other].ssl_context()
            return PASSWORD

        return password

    for name, other in (("x", "y"), ("y", "x")):
        cert, key = encrypted_identity(ca, tmp_path, name)
        identity = ClientCert(cert, key, password=needing(other))
        configs[name] = TLSConfig(ca_bundle=ca_path, client_cert=identity)
    armed = True
    outcomes: list[BaseException | None] = []

    def build(name: str) -> None:
        try:
            configs[name].ssl_context()
            outcomes.append(None)
        except BaseException as exc:  # collected below
            outcomes.append(exc)

    threads = [threading.Thread(target=build, args=(n,), daemon=True) for n in "xy"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads), "deadlocked"
    assert len(outcomes) == 2
    assert all(isinstance(o, TLSConfigError) for o in outcomes), outcomes
