"""Shared benchmark helpers: certificates, a server process, timing."""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import certifi
import trustme


@dataclass(frozen=True)
class LocalServer:
    """A TLS server in a child process, and the files a client needs to trust it."""

    url: str
    bundle: str  # certifi's roots plus the test CA: a certifi-sized bundle
    ca_only: str


@contextlib.contextmanager
def local_server() -> Iterator[LocalServer]:
    """Start `_tls_server.py` in a separate process on 127.0.0.1; stop it on exit."""
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        leaf.private_key_and_cert_chain_pem.write_to_path(d / "server.pem")
        ca.cert_pem.write_to_path(d / "ca.pem")
        (d / "bundle.pem").write_bytes(Path(certifi.where()).read_bytes() + ca.cert_pem.bytes())
        server = Path(__file__).with_name("_tls_server.py")
        proc = subprocess.Popen(
            [sys.executable, str(server), str(d / "server.pem")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline())
            yield LocalServer(
                f"https://127.0.0.1:{port}/", str(d / "bundle.pem"), str(d / "ca.pem")
            )
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def rate(fn: Callable[[], object], n: int) -> float:
    """Calls per second of ``fn`` over ``n`` calls (wall clock)."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def median(values: list[float]) -> float:
    return statistics.median(values)
