"""Secrets never leak: not in repr/str of any object, any exception (or its causes), any log."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme
from cryptography.hazmat.primitives import serialization

from securesession import ClientCert, SecureSession, TLSConfig

from .conftest import KeepAliveFactory

PASSWORD = "Tr0ub4dor&3-never-print-me"


def key_fragments(pem: bytes) -> list[str]:
    """Distinctive pieces of a PEM key's body (any of them in a text would be a leak)."""
    body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
    return [body[i : i + 24].decode() for i in range(0, len(body) - 24, 24)]


def texts_of(exc: BaseException) -> Iterator[str]:
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        stack.extend([current.__cause__, current.__context__])
        stack.extend(a for a in current.args if isinstance(a, BaseException))


def test_no_secret_anywhere_in_a_full_mtls_run(
    make_keepalive: KeepAliveFactory,
    ca: trustme.CA,
    other_ca: trustme.CA,
    ca_path: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: securesession, urllib3, requests
    leaf = ca.issue_cert("secret@example.test", common_name="secret-holder")
    plain_key = leaf.private_key_pem.bytes()
    encrypted = serialization.load_pem_private_key(plain_key, None).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    )
    (tmp_path / "c.pem").write_bytes(leaf.cert_chain_pems[0].bytes())
    (tmp_path / "k.pem").write_bytes(encrypted)
    cert_path, key_path = str(tmp_path / "c.pem"), str(tmp_path / "k.pem")
    server = make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca, require_client_cert=True)
    url = server.url_for("/")

    texts: list[str] = []
    identities = [
        ClientCert(cert_path, key_path, password=PASSWORD),
        ClientCert(cert_path, key_path, password=PASSWORD.encode()),
        ClientCert(cert_path, key_path, password=lambda: PASSWORD),
        ClientCert(leaf.cert_chain_pems[0].bytes(), encrypted, password=PASSWORD),
        ClientCert(leaf.cert_chain_pems[0].bytes(), plain_key),
    ]
    for identity in identities:
        tls = TLSConfig(ca_bundle=ca_path, client_cert=identity)
        with SecureSession(tls) as session:
            response = session.get(url)
            assert response.text == "ok secret-holder"
            texts += [repr(identity), str(identity), repr(tls), str(tls), repr(session)]
            texts += [repr(a) for a in session.adapters.values()]
            texts += [repr(response.tls)]  # type: ignore[attr-defined]
        with SecureSession(ca_bundle=ca_path) as session:  # per-request triple
            assert session.get(url, cert=(cert_path, key_path, PASSWORD)).status_code == 200

    stranger = other_ca.issue_cert("x@example.test", common_name="stranger")
    stranger_id = ClientCert(stranger.cert_chain_pems[0].bytes(), stranger.private_key_pem.bytes())

    def get_with(**tls: object) -> None:
        with SecureSession(**tls) as session:  # type: ignore[arg-type]
            session.get(url)

    failures = [
        lambda: ClientCert(cert_path, key_path, password=PASSWORD + "-wrong"),
        lambda: ClientCert(cert_path, key_path),
        lambda: ClientCert(cert_path, stranger.private_key_pem.bytes()),
        lambda: ClientCert(cert_path, plain_key.decode()),  # PEM text where a path goes
        lambda: ClientCert.from_pkcs12(b"\x30" + PASSWORD.encode(), password=PASSWORD),
        lambda: get_with(ca_bundle=ca_path),  # no certificate: refused
        lambda: get_with(ca_bundle=ca_path, client_cert=stranger_id),
        lambda: get_with(
            ca_bundle=ca_path,
            client_cert=(cert_path, key_path, PASSWORD),
            pins=["sha256//" + base64.b64encode(b"\0" * 32).decode()],
        ),
    ]
    for attempt in failures:
        with pytest.raises((ValueError, TypeError, OSError, requests.RequestException)) as info:
            attempt()
        texts.extend(texts_of(info.value))
    texts.append(caplog.text)

    everything = "\n".join(texts)
    assert PASSWORD not in everything
    assert PASSWORD.encode().hex() not in everything
    for fragment in key_fragments(plain_key) + key_fragments(encrypted):
        assert fragment not in everything
    assert "PRIVATE KEY" not in everything


def test_cli_never_prints_the_password(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str, tmp_path: Path
) -> None:
    leaf = ca.issue_cert("cli@example.test", common_name="cli")
    encrypted = serialization.load_pem_private_key(
        leaf.private_key_pem.bytes(), None
    ).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    )
    (tmp_path / "c.pem").write_bytes(leaf.cert_chain_pems[0].bytes())
    (tmp_path / "k.pem").write_bytes(encrypted)
    server = make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca, require_client_cert=True)
    for password in (PASSWORD, PASSWORD + "-wrong"):
        result = subprocess.run(
            [
                sys.executable, "-m", "securesession", "-v", "get", server.url_for("/"),
                "--ca-bundle", ca_path, "--cert", str(tmp_path / "c.pem"),
                "--key", str(tmp_path / "k.pem"), "--password-env", "KEY_PASSWORD",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "KEY_PASSWORD": password},
            stdin=subprocess.DEVNULL,
            check=False,
        )  # fmt: skip
        assert result.returncode in (0, 3)
        assert PASSWORD not in result.stdout + result.stderr  # -v: tracebacks included
