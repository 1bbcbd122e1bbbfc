"""Rotation and fail-closed trust against `openssl s_server`, a server nobody here wrote.

Skipped where the ``openssl`` command is missing. The server is started on
127.0.0.1 with an ephemeral port, and stopped by its own process handle.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme

from securesession import CertificateFileError, SecureSession, _cache

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")


@pytest.fixture
def s_server(ca: trustme.CA, tmp_path: Path) -> Iterator[int]:
    """`openssl s_server -www` with a certificate from ``ca``; yields its port."""
    pem = tmp_path / "server.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(pem)
    log = tmp_path / "s_server.log"
    with open(log, "wb") as out:  # a file, not a pipe: nothing can block on a full buffer
        process = subprocess.Popen(
            [str(OPENSSL), "s_server", "-accept", "127.0.0.1:0", "-cert", str(pem), "-www"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 10  # bounded: it prints its address first
        found = None
        while found is None and time.monotonic() < deadline and process.poll() is None:
            found = re.search(rb"ACCEPT 127\.0\.0\.1:(\d+)", log.read_bytes())
            time.sleep(0.05)
        if found is None:
            pytest.fail(f"openssl s_server did not start: {log.read_bytes()[-300:]!r}")
        yield int(found.group(1))
    finally:
        process.kill()
        process.wait(10)


def test_rotation_and_fail_closed_against_openssl(
    s_server: int,
    ca: trustme.CA,
    other_ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_cache, "RECHECK_INTERVAL", 0.0)
    url = f"https://127.0.0.1:{s_server}/"
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    with SecureSession(ca_bundle=bundle) as session:
        assert session.get(url, timeout=10).status_code == 200
        held = session.tls.ssl_context()
        bundle.write_bytes(b"")  # trust removed: nothing is trusted
        with pytest.raises(CertificateFileError, match=r"bundle\.pem"):
            session.get(url, timeout=10)
        bundle.write_bytes(other_ca.cert_pem.bytes())  # rotated to a CA that did not sign it
        with pytest.raises(requests.exceptions.SSLError):
            session.get(url, timeout=10)
        with (
            socket.create_connection(("127.0.0.1", s_server), timeout=10) as raw,
            pytest.raises(CertificateFileError, match="rotated"),
        ):
            held.wrap_socket(raw, server_hostname="127.0.0.1")  # a holder of the old context
        bundle.write_bytes(ca.cert_pem.bytes())
        assert session.get(url, timeout=10).status_code == 200
