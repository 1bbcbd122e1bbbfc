"""Shared fixtures: CAs and real HTTPS servers on 127.0.0.1, all made at test time."""

from __future__ import annotations

import contextlib
import datetime
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from securesession import _cache
from securesession._localserver import common_name
from securesession._testing import client_certificate

from ._server import KeepAliveHTTPSServer, keepalive_server

pytest_plugins = ["pytester"]

_ENV_VARIABLES = (
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "SSLKEYLOGFILE",
    *(f"{p}_{s}".lower() for p in ("http", "https", "all", "no") for s in ("proxy",)),
    *(f"{p}_PROXY" for p in ("HTTP", "HTTPS", "ALL", "NO")),
)


@pytest.fixture(autouse=True)
def _hermetic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Machines (CI's included) export REQUESTS_CA_BUNDLE and friends; tests that
    # are about the environment set what they need themselves.
    for name in _ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _fresh_context_cache() -> Iterator[None]:
    # Each test sees contexts built from its own files, never a neighbour's.
    _cache.CACHE.clear()
    yield
    _cache.CACHE.clear()


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def other_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_path(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(path)
    return str(path)


@pytest.fixture(scope="session")
def other_ca_path(other_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("other_ca") / "ca.pem"
    other_ca.cert_pem.write_to_path(path)
    return str(path)


def server_context(
    cert: trustme.LeafCert,
    *,
    minimum_version: ssl.TLSVersion | None = None,
    maximum_version: ssl.TLSVersion | None = None,
    client_ca: trustme.CA | None = None,
    require_client_cert: bool = False,
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    if minimum_version is not None:
        ctx.minimum_version = minimum_version
    if maximum_version is not None:
        ctx.maximum_version = maximum_version
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
        client_ca.configure_trust(ctx)
    return ctx


def pem_context(tmp_path: Path, cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A server context from PEM bytes (the chain to send, in order, then the key)."""
    path = tmp_path / f"server-{len(list(tmp_path.iterdir()))}.pem"
    path.write_bytes(cert_pem + key_pem)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(path)
    return ctx


def _echo(request: Request) -> Response:
    cn = common_name(client_certificate(request))
    return Response(f"ok {cn}".strip(), content_type="text/plain")


ServerFactory = Callable[..., HTTPServer]


@pytest.fixture
def make_server() -> Iterator[ServerFactory]:
    """Start HTTPS servers on 127.0.0.1 that answer every path with 'ok [client CN]'."""
    servers: list[HTTPServer] = []

    def factory(
        cert: trustme.LeafCert,
        *,
        handler: Callable[[Request], Response] = _echo,
        **ctx_kwargs: Any,
    ) -> HTTPServer:
        server = HTTPServer(
            host="127.0.0.1", port=0, ssl_context=server_context(cert, **ctx_kwargs), threaded=True
        )
        server.expect_request("").respond_with_handler(handler)  # "" matches every path
        server.start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.clear()
        server.stop()


KeepAliveFactory = Callable[..., KeepAliveHTTPSServer]


@pytest.fixture
def make_keepalive() -> Iterator[KeepAliveFactory]:
    """Start keep-alive HTTPS servers (they count connections) on 127.0.0.1."""
    with contextlib.ExitStack() as stack:

        def factory(
            cert: trustme.LeafCert | ssl.SSLContext, **ctx_kwargs: Any
        ) -> KeepAliveHTTPSServer:
            if not isinstance(cert, ssl.SSLContext):
                cert = server_context(cert, **ctx_kwargs)
            return stack.enter_context(keepalive_server(cert))

        yield factory


@pytest.fixture
def server(make_keepalive: KeepAliveFactory, ca: trustme.CA) -> KeepAliveHTTPSServer:
    return make_keepalive(ca.issue_cert("127.0.0.1", "localhost"))


@pytest.fixture
def other_server(make_keepalive: KeepAliveFactory, other_ca: trustme.CA) -> KeepAliveHTTPSServer:
    return make_keepalive(other_ca.issue_cert("127.0.0.1", "localhost"))


@pytest.fixture
def server_url(server: KeepAliveHTTPSServer) -> str:
    return server.url_for("/")


@pytest.fixture
def other_server_url(other_server: KeepAliveHTTPSServer) -> str:
    return other_server.url_for("/")


@pytest.fixture
def expired_server(make_keepalive: KeepAliveFactory, ca: trustme.CA) -> KeepAliveHTTPSServer:
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = ca.issue_cert(
        "127.0.0.1",
        not_before=now - datetime.timedelta(days=30),
        not_after=now - datetime.timedelta(days=1),
    )
    return make_keepalive(cert)


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)
