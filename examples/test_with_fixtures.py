"""Testing TLS code with securesession's pytest fixtures (installed with securesession[pytest]).

Run: python -m pytest examples/test_with_fixtures.py
No conftest is needed: the plugin registers the fixtures.
"""

from __future__ import annotations

import pytest

from securesession import SecureSession, TLSError


def fetch_status(url: str, ca_bundle: str) -> str:
    """The code under test: an application function that must fail loudly on bad TLS."""
    with SecureSession(ca_bundle=ca_bundle) as session:
        return session.get(url, timeout=10).text


def test_healthy_server(https_server, tls_ca_bundle):  # type: ignore[no-untyped-def]
    https_server.expect_request("/status").respond_with_data("green")
    assert fetch_status(https_server.url_for("/status"), tls_ca_bundle) == "green"


@pytest.mark.parametrize("posture", ["expired", "wrong_host", "untrusted_root"])
def test_bad_servers_are_refused(tls_server_factory, tls_ca_bundle, posture):  # type: ignore[no-untyped-def]
    server = tls_server_factory(cert=posture)
    with pytest.raises(TLSError) as info:
        fetch_status(server.url_for("/status"), tls_ca_bundle)
    assert isinstance(info.value, server.expected_error)


def test_mutual_tls(mtls_server, tls_ca_bundle, tls_client_cert):  # type: ignore[no-untyped-def]
    mtls_server.expect_request("/status").respond_with_data("green for clients")
    with SecureSession(ca_bundle=tls_ca_bundle, client_cert=tls_client_cert) as session:
        assert session.get(mtls_server.url_for("/status")).text == "green for clients"
