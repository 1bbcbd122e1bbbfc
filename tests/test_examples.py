"""Every example runs, as a user would run it, and prints what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_CA_BUNDLE")}
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
