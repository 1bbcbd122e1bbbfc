"""The pytest plugin, exercised the way users meet it: a fresh test file, no conftest."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

USES_EVERY_FIXTURE = textwrap.dedent(
    """
    import os
    import socket

    import pytest
    from werkzeug import Response

    from securesession import (
        ClientCert,
        ClientCertificateRequiredError,
        ProtocolVersionError,
        SecureSession,
        TLSError,
    )
    from securesession.pytest_plugin import client_certificate

    ENV_BEFORE = os.environ.get("REQUESTS_CA_BUNDLE")
    PORTS = []
    POSTURES = ["valid", "expired", "not_yet_valid", "wrong_host", "self_signed",
                "untrusted_root", "incomplete_chain", "revoked"]


    def test_https_server(https_server, secure_session):
        https_server.expect_request("/hello").respond_with_data("hello over TLS")
        response = secure_session.get(https_server.url_for("/hello"))
        assert response.text == "hello over TLS"
        assert response.tls.version.startswith("TLSv1.")
        assert set(response.tls.san) == {"localhost", "127.0.0.1", "::1"}
        PORTS.append(https_server.port)


    def test_https_server_by_name(https_server, tls_ca_bundle):
        https_server.expect_request("/").respond_with_data("by name")
        with SecureSession(ca_bundle=tls_ca_bundle) as session:
            url = f"https://localhost:{https_server.port}/"
            assert session.get(url).text == "by name"


    def test_secure_session_trusts_only_tls_ca(secure_session, tls_ca_bundle):
        assert secure_session.tls.ca_bundle == (tls_ca_bundle,)
        assert secure_session.tls.ssl_context().cert_store_stats()["x509_ca"] == 1


    def test_mtls_with_client_cert(mtls_server, tls_ca_bundle, tls_client_cert):
        def whoami(request):
            subject = dict(rdn[0] for rdn in client_certificate(request)["subject"])
            return Response(subject["commonName"])

        mtls_server.expect_request("/whoami").respond_with_handler(whoami)
        assert isinstance(tls_client_cert, ClientCert)
        assert tls_client_cert.password
        with open(tls_client_cert.key, "rb") as key_file:
            assert b"ENCRYPTED" in key_file.read()
        with SecureSession(ca_bundle=tls_ca_bundle, client_cert=tls_client_cert) as session:
            assert session.get(mtls_server.url_for("/whoami")).text == "securesession-test-client"
        PORTS.append(mtls_server.port)


    def test_mtls_without_client_cert(mtls_server, secure_session):
        with pytest.raises(ClientCertificateRequiredError):
            secure_session.get(mtls_server.url_for("/"))


    @pytest.mark.parametrize("posture", POSTURES)
    def test_posture(tls_server_factory, tls_ca_bundle, posture):
        server = tls_server_factory(cert=posture)
        PORTS.append(server.port)
        assert server.posture == posture
        assert (server.crl is not None) == (posture == "revoked")
        extra = {"crl": server.crl} if server.crl else {}
        with SecureSession(ca_bundle=tls_ca_bundle, **extra) as session:
            if server.expected_error is None:
                assert session.get(server.url_for("/")).text == "ok: valid"
            else:
                with pytest.raises(server.expected_error) as info:
                    session.get(server.url_for("/"))
                assert "Fix:" in str(info.value)
        if posture in ("self_signed", "untrusted_root"):
            with SecureSession(ca_bundle=server.ca_bundle) as session:
                assert session.get(server.url_for("/")).text == f"ok: {posture}"


    @pytest.mark.parametrize(("server_max", "client_min"), [("1.2", "1.3")])
    def test_version_limits(tls_server_factory, tls_ca_bundle, server_max, client_min):
        server = tls_server_factory(maximum_version=server_max)
        with SecureSession(ca_bundle=tls_ca_bundle, minimum_version=client_min) as session:
            with pytest.raises(ProtocolVersionError, match="server speaks TLS 1.2"):
                session.get(server.url_for("/"))
        server13 = tls_server_factory(minimum_version="1.3")
        with SecureSession(ca_bundle=tls_ca_bundle) as session:
            assert session.get(server13.url_for("/")).tls.version == "TLSv1.3"


    @pytest.mark.parametrize("legacy", ["1.0", "1.1"])
    def test_legacy_server(tls_server_factory, secure_session, legacy):
        server = tls_server_factory(minimum_version=legacy, maximum_version=legacy)
        assert server.expected_error is ProtocolVersionError
        with pytest.raises(ProtocolVersionError, match=f"server speaks TLS {legacy}"):
            secure_session.get(server.url_for("/"))


    def test_factory_mtls(tls_server_factory, tls_ca_bundle, tls_client_cert):
        server = tls_server_factory(require_client_cert=True)
        assert server.expected_error is ClientCertificateRequiredError
        with SecureSession(ca_bundle=tls_ca_bundle, client_cert=tls_client_cert) as session:
            assert session.get(server.url_for("/")).text == "ok: valid"


    def test_zz_every_server_was_stopped():
        assert len(PORTS) >= 10
        for port in PORTS:
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
        assert os.environ.get("REQUESTS_CA_BUNDLE") == ENV_BEFORE
    """
)


def test_every_fixture_and_posture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fixtures=USES_EVERY_FIXTURE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=18)
    # Nothing was written next to the tests: certificates live in pytest's temporary
    # directories (pytester points the run's --basetemp at runpytest-N/ beside it).
    others = [p.name for p in pytester.path.iterdir() if not p.name.startswith("runpytest-")]
    assert set(others) - {"__pycache__", "stdout", "stderr"} == {"test_fixtures.py"}  # pytester
    assert list(pytester.path.glob("runpytest-0/securesession-ca*/ca.pem"))


def test_overriding_a_fixture(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest, trustme

        @pytest.fixture(scope="session")
        def tls_ca():
            return trustme.CA(organization_name="my own CA")
        """
    )
    pytester.makepyfile(
        """
        def test_it(https_server, secure_session, tls_ca):
            https_server.expect_request("/").respond_with_data("mine")
            response = secure_session.get(https_server.url_for("/"))
            assert response.text == "mine"
            assert "my own CA" in response.tls.issuer
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_not_registered_twice_and_works_beside_httpserver(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["securesession.pytest_plugin"]')
    pytester.makepyfile(
        """
        import requests

        def test_both(httpserver, https_server, secure_session):
            httpserver.expect_request("/plain").respond_with_data("plain http")
            https_server.expect_request("/tls").respond_with_data("https")
            assert requests.get(httpserver.url_for("/plain")).text == "plain http"
            assert secure_session.get(https_server.url_for("/tls")).text == "https"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_unexpected_request_fails_like_httpserver(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_no_handler(https_server, secure_session):
            assert secure_session.get(https_server.url_for("/nobody-expects")).status_code == 500
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)  # the teardown check reports it


def test_plugin_import_is_cheap() -> None:
    code = "import sys, securesession.pytest_plugin; print(sorted(m for m in ('requests', 'trustme', 'cryptography', 'pytest_httpserver') if m in sys.modules))"  # noqa: E501
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    ).stdout
    assert out.strip() == "[]"
