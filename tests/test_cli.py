"""The command line, driven as a user would: subprocesses, exit codes, real handshakes."""

from __future__ import annotations

import os
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from securesession import ClientCert, SecureSession
from securesession._localserver import LocalHTTPSServer, serve

from .conftest import KeepAliveFactory


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.endswith("CA_BUNDLE")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "securesession", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=environment,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def test_cert_create_makes_a_ca_once_and_certs_that_work(workdir: Path) -> None:
    ca_dir = workdir / "ca"
    first = run("cert", "create", "localhost", "127.0.0.1", "--ca", str(ca_dir), cwd=workdir)
    assert first.returncode == 0, first.stderr
    assert f"Created a new local CA in {ca_dir}" in first.stdout
    assert "SecureSession(ca_bundle=" in first.stdout
    assert stat.S_IMODE((ca_dir / "ca-key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((workdir / "localhost+1-key.pem").stat().st_mode) == 0o600
    second = run("cert", "create", "api.local", "--ca", str(ca_dir), cwd=workdir)
    assert "Using the local CA" in second.stdout
    assert (ca_dir / "ca.pem").read_bytes().count(b"BEGIN CERTIFICATE") == 1

    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(workdir / "localhost+1.pem", workdir / "localhost+1-key.pem")
    with serve(server_ctx) as server, SecureSession(ca_bundle=ca_dir / "ca.pem") as session:
        assert session.get(server.url_for("/")).text == "ok"
        got = run("get", server.url_for("/"), "--ca-bundle", str(ca_dir / "ca.pem"), cwd=workdir)
    assert got.returncode == 0, got.stderr
    assert got.stdout.startswith("200 OK")
    assert "TLS: TLSv1.3" in got.stdout
    assert "names: localhost, 127.0.0.1" in got.stdout
    assert "pin: sha256//" in got.stdout


def test_refuses_to_overwrite(workdir: Path) -> None:
    args = ("cert", "create", "example.test", "--ca", str(workdir / "ca"))
    assert run(*args, cwd=workdir).returncode == 0
    before = (workdir / "example.test.pem").read_bytes()
    again = run(*args, cwd=workdir)
    assert again.returncode == 3
    assert again.stderr.count("\n") == 1  # one line, no traceback
    assert "exists" in again.stderr
    assert (workdir / "example.test.pem").read_bytes() == before
    assert run(*args, "--overwrite", cwd=workdir).returncode == 0
    assert (workdir / "example.test.pem").read_bytes() != before


def test_client_cert_with_password_and_p12_in_an_mtls_handshake(
    workdir: Path, make_keepalive: KeepAliveFactory
) -> None:
    ca_dir = workdir / "ca"
    env = {"KEY_PW": "correct-horse"}
    made = run(
        "cert", "create", "alice", "--client", "--ca", str(ca_dir), "--password-env", "KEY_PW",
        "--p12", "--key-type", "rsa", cwd=workdir, env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert b"ENCRYPTED PRIVATE KEY" in (workdir / "alice-client-key.pem").read_bytes()
    assert "correct-horse" not in made.stdout + made.stderr

    server_ca = trustme.CA()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    server_ctx.load_verify_locations(ca_dir / "ca.pem")
    (workdir / "server-ca.pem").write_bytes(server_ca.cert_pem.bytes())
    server = make_keepalive(server_ctx)
    url = server.url_for("/")
    got = run(
        "get", url, "--ca-bundle", str(workdir / "server-ca.pem"), "--cert",
        str(workdir / "alice-client.pem"), "--key", str(workdir / "alice-client-key.pem"),
        "--password-env", "KEY_PW", "--body", cwd=workdir, env=env,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    assert got.stdout.rstrip().endswith("ok alice")
    identity = ClientCert.from_pkcs12(workdir / "alice-client.p12", password="correct-horse")
    with SecureSession(ca_bundle=workdir / "server-ca.pem", client_cert=identity) as session:
        assert session.get(url).text == "ok alice"
    missing = run("get", url, "--ca-bundle", str(workdir / "server-ca.pem"), cwd=workdir)
    assert missing.returncode == 1
    assert "requires a client certificate" in missing.stderr


def test_get_failure_is_one_explained_line(
    other_server: LocalHTTPSServer, ca_path: str, workdir: Path
) -> None:
    result = run("get", other_server.url_for("/"), "--ca-bundle", ca_path, cwd=workdir)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "not trusted" in result.stderr
    assert "Traceback" not in result.stderr
    verbose = run("-v", "get", other_server.url_for("/"), "--ca-bundle", ca_path, cwd=workdir)
    assert "Traceback" in verbose.stderr
    assert verbose.returncode == 1


def test_connection_and_usage_errors(workdir: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert run("get", f"https://127.0.0.1:{port}/", "--timeout", "3", cwd=workdir).returncode == 4
    assert run("get", "ftp://example.test/", cwd=workdir).returncode == 2
    assert run("frobnicate", cwd=workdir).returncode == 2
    assert run("get", "https://x/", "--min-tls", "1.1", cwd=workdir).returncode == 2


def test_inspect(
    server: LocalHTTPSServer, expired_server: LocalHTTPSServer, ca_path: str, workdir: Path
) -> None:
    ok = run("inspect", server.url_for("/"), "--ca-bundle", ca_path, cwd=workdir)
    assert ok.returncode == 0, ok.stderr
    assert "TLS 1.3, TLS_" in ok.stdout
    assert "[0] OU=Testing cert" in ok.stdout
    assert "names: localhost, 127.0.0.1" in ok.stdout
    assert "days left" in ok.stdout
    assert "pin: sha256//" in ok.stdout
    assert "verification: OK" in ok.stdout
    bad = run("inspect", expired_server.url_for("/"), "--ca-bundle", ca_path, cwd=workdir)
    assert bad.returncode == 1
    assert "EXPIRED" in bad.stdout
    assert "verification: FAILED" in bad.stdout
    assert "has expired" in bad.stdout


def test_demo(workdir: Path) -> None:
    result = run("demo", cwd=workdir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "-> 200 OK: 'hello, demo-client'" in out
    assert "TLS: TLSv1.3" in out
    assert "authenticated the client as: CN=demo-client" in out
    assert "refused, ClientCertificateRequiredError" in out
    assert "password=***" in out
    assert "Done." in out
    assert list(workdir.iterdir()) == []  # it leaves nothing behind


def test_console_script_is_installed(workdir: Path) -> None:
    script = Path(sys.executable).with_name("securesession")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "Exit codes" in result.stdout
