"""Names: server_hostname is IDNA 2008 (UTS #46) as in URLs, and is the Host of virtual hosts."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import trustme
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from securesession import (
    CertificateVerificationError,
    SecureSession,
    TLSAdapter,
    TLSConfig,
    TLSConfigError,
)
from securesession._adapter import _host_header

from .conftest import KeepAliveFactory, ServerFactory

STRASSE_ALABEL = "xn--strae-oqa.example"  # IDNA 2008 / UTS #46 for "straße.example"


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ("straße.example", STRASSE_ALABEL),
        ("Straße.Example.", STRASSE_ALABEL),
        (STRASSE_ALABEL, STRASSE_ALABEL),
        ("Bücher.example", "xn--bcher-kva.example"),
        ("B.TEST.", "b.test"),
        ("under_score.internal", "under_score.internal"),  # ASCII names are kept, as in URLs
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
        ("[::1]", "::1"),
    ],
)
def test_server_hostname_is_normalized_to_the_a_label(given: str, normalized: str) -> None:
    assert TLSConfig(server_hostname=given).server_hostname == normalized


@pytest.mark.parametrize(
    "bad",
    ["", ".", "a..b", "-bad.bü", "a" * 64 + ".example", "ß" * 300, "host:443", "a b", "u@h"],
)
def test_bad_server_hostname_names_the_field(bad: str) -> None:
    with pytest.raises(TLSConfigError, match="server_hostname"):
        TLSConfig(server_hostname=bad)


def _sni_server(
    make_keepalive: KeepAliveFactory, cert: trustme.LeafCert, sni: list[str | None]
) -> str:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    ctx.sni_callback = lambda sock, name, _ctx: sni.append(name)  # type: ignore[func-returns-value]
    return make_keepalive(ctx).url_for("/")


def test_idn_server_hostname_sends_and_verifies_the_idna2008_name(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str
) -> None:
    sni: list[str | None] = []
    url = _sni_server(make_keepalive, ca.issue_cert(STRASSE_ALABEL), sni)
    with SecureSession(ca_bundle=ca_path, server_hostname="straße.example") as session:
        assert session.get(url).status_code == 200
    assert sni == [STRASSE_ALABEL]


def test_idn_server_hostname_rejects_the_idna2003_name(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str
) -> None:
    # "strasse.example" is another domain (IDNA 2003 maps ß to ss): its certificate is
    # not valid for straße.example.
    sni: list[str | None] = []
    url = _sni_server(make_keepalive, ca.issue_cert("strasse.example"), sni)
    with (
        SecureSession(ca_bundle=ca_path, server_hostname="straße.example") as session,
        pytest.raises(CertificateVerificationError),
    ):
        session.get(url)
    assert sni[:1] == [STRASSE_ALABEL]


# --- Host header: name-based virtual hosts ------------------------------------------------


def _vhosts(request: Request) -> Response:
    """Two name-based virtual hosts on one address; a.test is the default server, as in nginx."""
    host = request.headers.get("Host", "")
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    site = {"b.test": "site B", STRASSE_ALABEL: "site strasse"}.get(name, "site A")
    return Response(f"{site} | {host}", content_type="text/plain")


@pytest.fixture
def vhosts_url(make_server: ServerFactory, ca: trustme.CA) -> str:
    server = make_server(ca.issue_cert("a.test", "b.test", STRASSE_ALABEL), handler=_vhosts)
    return str(server.url_for("/"))


def test_server_hostname_is_the_host_header(vhosts_url: str, ca_path: str) -> None:
    port = urlsplit(vhosts_url).port
    with SecureSession(ca_bundle=ca_path, server_hostname="b.test") as session:
        assert session.get(vhosts_url).text == f"site B | b.test:{port}"
        # per-request verify= and cert= derive a config that keeps server_hostname
        assert session.get(vhosts_url, verify=ca_path).text.startswith("site B |")
    with SecureSession(ca_bundle=ca_path, server_hostname="straße.example") as session:
        assert session.get(vhosts_url).text == f"site strasse | {STRASSE_ALABEL}:{port}"


def test_a_callers_host_header_wins(vhosts_url: str, ca_path: str) -> None:
    with SecureSession(ca_bundle=ca_path, server_hostname="b.test") as session:
        assert session.get(vhosts_url, headers={"Host": "a.test"}).text.startswith("site A |")
        session.headers["host"] = "a.test"
        assert session.get(vhosts_url).text.startswith("site A |")


def test_mounted_server_hostname_is_the_host_header(vhosts_url: str, ca_path: str) -> None:
    with SecureSession(ca_bundle=ca_path, server_hostname="a.test") as session:
        session.mount_tls(vhosts_url, session.tls.replace(server_hostname="b.test"))
        assert session.get(vhosts_url).text.startswith("site B |")


def test_the_callers_request_is_not_changed(vhosts_url: str, ca_path: str) -> None:
    with SecureSession(ca_bundle=ca_path, server_hostname="b.test") as session:
        prepared = session.prepare_request(requests.Request("GET", vhosts_url))
        response = session.send(prepared)
        assert response.text.startswith("site B |")
        assert "Host" not in prepared.headers
        assert response.request is prepared


def test_plain_session_with_tls_adapter_sends_the_host(vhosts_url: str, ca_path: str) -> None:
    with requests.Session() as plain:
        plain.mount("https://", TLSAdapter(TLSConfig(ca_bundle=ca_path, server_hostname="b.test")))
        assert plain.get(vhosts_url).text.startswith("site B |")


def test_http_urls_keep_their_host(ca_path: str) -> None:
    plain = HTTPServer(host="127.0.0.1", port=0)
    plain.expect_request("/").respond_with_handler(_vhosts)
    plain.start()
    try:
        with SecureSession(ca_bundle=ca_path, server_hostname="b.test") as session:
            assert session.get(plain.url_for("/")).text == f"site A | 127.0.0.1:{plain.port}"
    finally:
        plain.stop()


@pytest.mark.parametrize(
    ("name", "url", "host"),
    [
        ("b.test", "https://127.0.0.1/", "b.test"),
        ("b.test", "https://127.0.0.1:443/x", "b.test"),
        ("b.test", "https://127.0.0.1:8443/x", "b.test:8443"),
        ("::1", "https://[::1]:8443/", "[::1]:8443"),
    ],
)
def test_host_header_has_the_port_unless_it_is_443(name: str, url: str, host: str) -> None:
    assert _host_header(name, url) == host


_NGINX_CONF = """
daemon off;
master_process off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {tmp};
    proxy_temp_path {tmp};
    fastcgi_temp_path {tmp};
    uwsgi_temp_path {tmp};
    scgi_temp_path {tmp};
    server {{
        listen 127.0.0.1:{port} ssl default_server;
        server_name a.test;
        ssl_certificate {tmp}/a.pem;
        ssl_certificate_key {tmp}/a.key;
        return 200 "site A";
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name b.test;
        ssl_certificate {tmp}/b.pem;
        ssl_certificate_key {tmp}/b.key;
        return 200 "site B";
    }}
}}
"""


@pytest.fixture
def nginx_vhosts_url(ca: trustme.CA, tmp_path: Path) -> Iterator[str]:
    """nginx with two name-based virtual hosts (each its own certificate) on one address."""
    nginx = shutil.which("nginx")
    if nginx is None:
        pytest.skip("nginx is not installed")
    for name in ("a", "b"):
        cert = ca.issue_cert(f"{name}.test")
        cert.cert_chain_pems[0].write_to_path(tmp_path / f"{name}.pem")
        cert.private_key_pem.write_to_path(tmp_path / f"{name}.key")
    with socket.socket() as probe:  # a free port (nginx cannot report the one it chose)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conf = tmp_path / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(tmp=tmp_path, port=port))
    process = subprocess.Popen(  # a fixed argv, no shell
        [nginx, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(500):  # until it listens (or gave up)
            if process.poll() is not None:
                pytest.skip(f"nginx did not start: {(tmp_path / 'error.log').read_text()[-300:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.02)
        yield f"https://127.0.0.1:{port}/"
    finally:
        process.terminate()  # our own process, by its handle
        process.wait(timeout=10)


def test_nginx_virtual_host_follows_server_hostname(nginx_vhosts_url: str, ca_path: str) -> None:
    with SecureSession(ca_bundle=ca_path, server_hostname="b.test") as session:
        assert session.get(nginx_vhosts_url).text == "site B"
        assert session.get(nginx_vhosts_url, headers={"Host": "a.test"}).text == "site A"
    with SecureSession(ca_bundle=ca_path, server_hostname="a.test") as session:
        assert session.get(nginx_vhosts_url).text == "site A"
