"""Shared benchmark helpers: certificates, a server process, timing."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
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
def local_server(key_type: str = "rsa") -> Iterator[LocalServer]:
    """Start `_tls_server.py` in a separate process on 127.0.0.1; stop it on exit.

    The server key is RSA-2048 by default, like most public HTTPS servers; "ecdsa"
    gives a P-256 key, which makes full handshakes cheaper for the server.
    """
    ca = trustme.CA()
    kind = trustme.KeyType.RSA if key_type == "rsa" else trustme.KeyType.ECDSA
    leaf = ca.issue_cert("127.0.0.1", "localhost", key_type=kind)
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
