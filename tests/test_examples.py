"""Every example runs, as a user would run it, and prints what it promises."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> str:
    hermetic = ("_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
    env = {k: v for k, v in os.environ.items() if not k.endswith(hermetic)}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_private_ca_example() -> None:
    out = run_example("private_ca.py")
    assert "corp server: 200" in out
    assert "hello from the private CA's server" in out
    assert "other server: rejected" in out
    assert "roots trusted: 1" in out


def test_mtls_password_key_example() -> None:
    out = run_example("mtls_password_key.py")
    assert "server says: 200 hello, billing-service" in out
    assert "password=***" in out


def test_fixture_example_module() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(EXAMPLES / "test_with_fixtures.py"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
        cwd=EXAMPLES.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_custom_ca_bundle_example() -> None:
    out = run_example("custom_ca_bundle.py")
    assert out.count("trusted") == 3


def test_requests_ca_bundle_env_example() -> None:
    out = run_example("requests_ca_bundle_env.py")
    assert "default config + REQUESTS_CA_BUNDLE: hello" in out
    assert "explicit ca_bundle beats the variable: hello" in out
    assert "variable naming the wrong CA: UnknownIssuerError" in out
    assert "session.verify=False: hello (1 warning)" in out


def test_werkzeug_dev_server_example() -> None:
    out = run_example("werkzeug_dev_server.py")
    assert "127.0.0.1: 200 hello from werkzeug" in out
    assert "localhost: 200 hello from werkzeug" in out


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")
def test_openssl_self_signed_example() -> None:
    out = run_example("openssl_self_signed.py")
    assert "not trusted yet: SelfSignedCertificateError" in out
    assert "with ca_bundle=cert.pem: self-signed but trusted" in out


def test_tls13_only_example() -> None:
    out = run_example("tls13_only.py")
    assert "TLS 1.3 server: spoken over TLSv1_3" in out
    assert "TLS 1.2 server: refused:" in out
    assert "the server speaks TLS 1.2" in out
