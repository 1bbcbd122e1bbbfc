"""pytest fixtures for TLS: a CA, client certificates, HTTPS and mTLS servers, a local badssl.

Registered through the ``pytest11`` entry point when ``securesession[pytest]`` is
installed. Every fixture can be overridden the pytest way: define a fixture of the
same name in your ``conftest.py`` (keep its scope or narrow it).

=====================  ========  ==========================================================
fixture                scope     value
=====================  ========  ==========================================================
``tls_ca``             session   a `trustme.CA`
``tls_ca_bundle``      session   path (str) to ``tls_ca``'s certificate, PEM
``tls_client_cert``    session   a `ClientCert` from ``tls_ca``: cert file, encrypted key
                                 file, password (CN ``securesession-test-client``)
``https_server``       function  a started pytest-httpserver `HTTPServer` (a `TLSTestServer`)
                                 on 127.0.0.1, certificate for localhost, 127.0.0.1, ::1
``mtls_server``        function  the same, requiring a client certificate from ``tls_ca``;
                                 handlers read it with `client_certificate(request)`
``secure_session``     function  a `SecureSession` trusting ``tls_ca`` only, closed after
``tls_server_factory`` function  ``factory(cert=..., minimum_version=None,
                                 maximum_version=None, require_client_cert=False)``
=====================  ========  ==========================================================

``cert`` postures: "valid", "expired", "not_yet_valid", "wrong_host", "self_signed",
"untrusted_root", "incomplete_chain", "revoked". Each server carries ``ca_bundle``
(the PEM that vouches for it), ``crl`` ("revoked"), ``posture`` and ``expected_error``
(the `TLSError` a session trusting ``tls_ca`` gets). Factory servers answer any path
with ``200 ok: <posture>`` unless a handler says otherwise. A TLS 1.0/1.1 server is
skipped (``pytest.skip``) where this OpenSSL cannot start one.

Nothing here touches environment variables or global state; files go to pytest's
temporary directories; every server is stopped at the end of its test.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import trustme

    from ._config import ClientCert
    from ._session import SecureSession
    from ._testing import TLSTestServer

__all__ = [
    "client_certificate",
    "https_server",
    "mtls_server",
    "secure_session",
    "tls_ca",
    "tls_ca_bundle",
    "tls_client_cert",
    "tls_server_factory",
]

CLIENT_COMMON_NAME = "securesession-test-client"


def client_certificate(request: Any) -> dict[str, Any] | None:
    """The client certificate a werkzeug ``request`` came with (`getpeercert` form), or None."""
    from ._testing import client_certificate as _client_certificate

    return _client_certificate(request)


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """A throwaway certificate authority (`trustme.CA`) for the whole test session."""
    import trustme

    return trustme.CA(organization_name="securesession test CA")


@pytest.fixture(scope="session")
def tls_ca_bundle(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Path to ``tls_ca``'s certificate (PEM): what a client should trust."""
    path = tmp_path_factory.mktemp("securesession-ca") / "ca.pem"
    tls_ca.cert_pem.write_to_path(path)
    return str(path)


@pytest.fixture(scope="session")
def tls_client_cert(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> ClientCert:
    """A client certificate from ``tls_ca``: cert file, encrypted key file (0600), password."""
    from cryptography.hazmat.primitives import serialization

    from ._config import ClientCert

    leaf = tls_ca.issue_cert(f"{CLIENT_COMMON_NAME}@example.test", common_name=CLIENT_COMMON_NAME)
    directory = tmp_path_factory.mktemp("securesession-client")
    password = secrets.token_urlsafe(16)
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password.encode()),
    )
    cert_path, key_path = directory / "client.pem", directory / "client-key.pem"
    leaf.cert_chain_pems[0].write_to_path(cert_path)
    key_path.write_bytes(encrypted)
    key_path.chmod(0o600)
    return ClientCert(str(cert_path), str(key_path), password=password)


ServerFactory = Callable[..., "TLSTestServer"]


@pytest.fixture
def tls_server_factory(
    tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerFactory]:
    """Start HTTPS servers with a posture: ``factory(cert="expired", maximum_version="1.2")``."""
    from ._testing import make_server

    servers: list[TLSTestServer] = []
    directory = tmp_path_factory.mktemp("securesession-servers")

    def factory(
        cert: str = "valid",
        minimum_version: Any = None,
        maximum_version: Any = None,
        require_client_cert: bool = False,
    ) -> TLSTestServer:
        try:
            server = make_server(
                directory,
                tls_ca,
                cert=cert,
                minimum_version=minimum_version,
                maximum_version=maximum_version,
                require_client_cert=require_client_cert,
                default_body=f"ok: {cert}",
            )
        except RuntimeError as exc:  # a legacy TLS version this OpenSSL cannot serve
            pytest.skip(str(exc))
        servers.append(server)
        return server

    yield factory
    for server in servers:
        if server.is_running():
            server.clear()
            server.stop()


def _plain_server(
    tls_ca: trustme.CA, directory: Any, *, require_client_cert: bool
) -> Iterator[TLSTestServer]:
    from ._testing import make_server

    server = make_server(directory, tls_ca, require_client_cert=require_client_cert)
    try:
        yield server
        server.check_assertions()  # a request no handler expected fails the test, as httpserver
    finally:
        if server.is_running():
            server.clear()
            server.stop()


@pytest.fixture
def https_server(
    tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TLSTestServer]:
    """A started HTTPS `HTTPServer` on 127.0.0.1 (localhost, 127.0.0.1, ::1) from ``tls_ca``."""
    yield from _plain_server(
        tls_ca, tmp_path_factory.mktemp("securesession-https"), require_client_cert=False
    )


@pytest.fixture
def mtls_server(
    tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TLSTestServer]:
    """Like ``https_server``, but the handshake requires a client certificate from ``tls_ca``."""
    yield from _plain_server(
        tls_ca, tmp_path_factory.mktemp("securesession-mtls"), require_client_cert=True
    )


@pytest.fixture
def secure_session(tls_ca_bundle: str) -> Iterator[SecureSession]:
    """A `SecureSession` that trusts ``tls_ca`` and nothing else; closed after the test."""
    from ._session import SecureSession

    session = SecureSession(ca_bundle=tls_ca_bundle)
    try:
        yield session
    finally:
        session.close()
