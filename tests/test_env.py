"""Environment variables: they fill in defaults and never override explicit settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import urllib3

from securesession import CertificateFileError, SecureSession

from ._server import KeepAliveHTTPSServer


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"])
def test_variable_applies_when_config_is_default(
    server: KeepAliveHTTPSServer, ca_path: str, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, ca_path)
    with SecureSession() as session:
        assert session.get(server.url_for("/")).status_code == 200


def test_ssl_cert_dir_applies(
    server: KeepAliveHTTPSServer, ca_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "root.pem").write_bytes(Path(ca_path).read_bytes())
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with SecureSession() as session:
        assert session.get(server.url_for("/")).status_code == 200


def test_ssl_cert_file_and_dir_combine(
    server: KeepAliveHTTPSServer,
    other_server: KeepAliveHTTPSServer,
    ca_path: str,
    other_ca_path: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "other.pem").write_bytes(Path(other_ca_path).read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", ca_path)
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with SecureSession() as session:
        assert session.get(server.url_for("/")).status_code == 200
        assert session.get(other_server.url_for("/")).status_code == 200


def test_requests_variable_beats_openssl_variables(
    server: KeepAliveHTTPSServer, ca_path: str, other_ca_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_ca_path)
    monkeypatch.setenv("SSL_CERT_FILE", ca_path)
    with SecureSession() as session, pytest.raises(requests.exceptions.SSLError):
        session.get(server.url_for("/"))


def test_explicit_ca_bundle_beats_the_variable(
    server: KeepAliveHTTPSServer, ca_path: str, other_ca_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_ca_path)
    with SecureSession(ca_bundle=ca_path) as session:
        assert session.get(server.url_for("/")).status_code == 200


def test_mounted_explicit_config_beats_the_variable(
    server: KeepAliveHTTPSServer, ca_path: str, other_ca_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_ca_path)
    with SecureSession() as session:
        session.mount_tls(server.url_for("/"), session.tls.replace(ca_bundle=ca_path))
        assert session.get(server.url_for("/")).status_code == 200


def test_trust_env_false_ignores_the_variable(
    server: KeepAliveHTTPSServer, ca_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_path)
    with SecureSession() as session:
        session.trust_env = False
        with pytest.raises(requests.exceptions.SSLError):  # certifi does not know our CA
            session.get(server.url_for("/"))


def test_session_verify_false_beats_the_variable(
    expired_server: KeepAliveHTTPSServer, ca_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_path)
    url = expired_server.url_for("/")
    with requests.Session() as plain:  # requests #3829: the variable wins over session.verify
        plain.verify = False
        with pytest.raises(requests.exceptions.SSLError):
            plain.get(url)
    with SecureSession() as session:
        session.verify = False
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
            assert session.get(url).status_code == 200


def test_session_verify_path_beats_the_variable(
    server: KeepAliveHTTPSServer, ca_path: str, other_ca_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_ca_path)
    with SecureSession(ca_bundle=other_ca_path) as session:
        session.verify = ca_path
        assert session.get(server.url_for("/")).status_code == 200


def test_per_request_verify_beats_everything(
    server: KeepAliveHTTPSServer, ca_path: str, other_ca_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_ca_path)
    with SecureSession(ca_bundle=other_ca_path) as session:
        session.verify = other_ca_path
        assert session.get(server.url_for("/"), verify=ca_path).status_code == 200


def test_empty_variable_counts_as_unset(
    server: KeepAliveHTTPSServer, ca_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CURL_CA_BUNDLE", "")  # once a way to switch verification off
    monkeypatch.setenv("SSL_CERT_FILE", ca_path)
    with SecureSession() as session:
        assert session.get(server.url_for("/")).status_code == 200


def test_missing_file_names_the_variable(
    server: KeepAliveHTTPSServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "gone.pem"))
    with (
        SecureSession() as session,
        pytest.raises(CertificateFileError, match=r"gone\.pem.*\$REQUESTS_CA_BUNDLE"),
    ):
        session.get(server.url_for("/"))
