"""SecureSession is a drop-in requests.Session: everything requests does still works."""

from __future__ import annotations

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import trustme
from pytest_httpserver import HTTPServer
from urllib3.util.retry import Retry
from werkzeug import Request, Response

from securesession import SecureSession, TLSAdapter, TLSConfig

from ._proxy import connect_proxy
from ._server import KeepAliveHTTPSServer
from .conftest import KeepAliveFactory, ServerFactory, server_context


def test_constructor_takes_config_or_fields_not_both(ca_path: str) -> None:
    tls = TLSConfig(ca_bundle=ca_path)
    assert SecureSession(tls).tls is tls
    assert SecureSession(ca_bundle=ca_path).tls == tls
    with pytest.raises(TypeError, match="not both"):
        SecureSession(tls, ca_bundle=ca_path)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        SecureSession(cabundle=ca_path)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        SecureSession("ca.pem")  # type: ignore[arg-type]
    assert isinstance(SecureSession(tls), requests.Session)


def test_session_tls_is_read_only(ca_path: str) -> None:
    session = SecureSession(ca_bundle=ca_path)
    with pytest.raises(AttributeError):
        session.tls = TLSConfig()  # type: ignore[misc]


def test_pickle_round_trip(server_url: str, ca_path: str) -> None:
    session = SecureSession(ca_bundle=ca_path, minimum_version="1.2")
    session.headers["X-Test"] = "1"
    assert session.get(server_url).status_code == 200
    clone = pickle.loads(pickle.dumps(session))
    assert clone.tls == session.tls
    assert isinstance(clone.get_adapter(server_url), TLSAdapter)
    assert clone.headers["X-Test"] == "1"
    assert clone.get(server_url).status_code == 200
    assert clone.get_adapter(server_url).tls.ssl_context() is session.tls.ssl_context()
    session.close()
    clone.close()


def test_context_manager_closes_pools(server_url: str, ca_path: str) -> None:
    with SecureSession(ca_bundle=ca_path) as session:
        session.get(server_url)
        adapter = session.get_adapter(server_url)
        assert len(adapter.poolmanager.pools) == 1
    assert len(adapter.poolmanager.pools) == 0


def _routes(request: Request) -> Response:
    if request.path == "/redirect":
        return Response("", status=302, headers={"Location": "/target"})
    if request.path == "/set-cookie":
        response = Response("set")
        response.set_cookie("flavour", "oat")
        return response
    if request.path == "/big":
        return Response(b"x" * 1_000_000)
    return Response(f"{request.path} cookie={request.cookies.get('flavour', '')}")


@pytest.fixture
def routes_url(make_server: ServerFactory, ca: trustme.CA) -> str:
    return make_server(ca.issue_cert("127.0.0.1"), handler=_routes).url_for("")


def test_redirects_cookies_hooks_and_streaming(routes_url: str, ca_path: str) -> None:
    seen: list[int] = []
    with SecureSession(ca_bundle=ca_path) as session:
        session.hooks["response"].append(lambda r, **_: seen.append(r.status_code))
        response = session.get(routes_url + "/redirect")
        assert response.text == "/target cookie="
        assert [r.status_code for r in response.history] == [302]
        session.get(routes_url + "/set-cookie")
        assert session.get(routes_url + "/again").text == "/again cookie=oat"
        with session.get(routes_url + "/big", stream=True) as streamed:
            assert sum(len(c) for c in streamed.iter_content(65536)) == 1_000_000
    assert seen == [302, 200, 200, 200, 200]


def test_max_retries(make_server: ServerFactory, ca: trustme.CA, ca_path: str) -> None:
    calls: list[str] = []

    def flaky(request: Request) -> Response:
        calls.append(request.path)
        return Response("busy", status=503) if len(calls) < 3 else Response("done")

    url = make_server(ca.issue_cert("127.0.0.1"), handler=flaky).url_for("/")
    retry = Retry(total=3, status_forcelist=[503], backoff_factor=0)
    with requests.Session() as session:
        session.mount("https://", TLSAdapter(TLSConfig(ca_bundle=ca_path), max_retries=retry))
        assert session.get(url).text == "done"
    assert len(calls) == 3
    with SecureSession(ca_bundle=ca_path) as session:
        session.mount("https://", TLSAdapter(session.tls, max_retries=retry))
        mounted = session.mount_tls(url, session.tls.replace(minimum_version="1.2"))
        assert mounted.max_retries is retry  # mount_tls keeps the adapter settings


def test_mount_tls_applies_only_under_the_prefix(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, other_ca: trustme.CA, other_ca_path: str
) -> None:
    a = make_keepalive(ca.issue_cert("127.0.0.1")).url_for("/")
    b = make_keepalive(other_ca.issue_cert("127.0.0.1")).url_for("/")
    with SecureSession(ca_bundle=ca.cert_pem.bytes()) as session:
        with pytest.raises(requests.exceptions.SSLError):
            session.get(b)
        session.mount_tls(b, TLSConfig(ca_bundle=other_ca_path))
        assert session.get(a).status_code == 200
        assert session.get(b).status_code == 200
        assert session.get_adapter(a).tls == session.tls
        assert session.get_adapter(b).tls == TLSConfig(ca_bundle=other_ca_path)


def test_http_urls_ignore_tls_arguments(ca_path: str) -> None:
    plain = HTTPServer(host="127.0.0.1", port=0)
    plain.expect_request("/").respond_with_data("plain")
    plain.start()
    try:
        with SecureSession(ca_bundle=ca_path) as session:
            assert session.get(plain.url_for("/"), verify=False).text == "plain"
            assert session.get(plain.url_for("/"), cert="/nonexistent.pem").text == "plain"
    finally:
        plain.stop()


def test_connect_proxy_keeps_the_origin_posture(
    server_url: str, other_server_url: str, ca_path: str
) -> None:
    with connect_proxy() as proxy, SecureSession(ca_bundle=ca_path) as session:
        session.proxies = {"https": proxy.url}
        assert session.get(server_url).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            session.get(other_server_url)  # tunnelled, and still verified against our CA only
        assert len(proxy.targets) == 2
    assert session.tls.ssl_context().cert_store_stats()["x509_ca"] == 1


def test_https_proxy_is_verified_with_the_config(
    server_url: str, ca: trustme.CA, ca_path: str, other_ca: trustme.CA
) -> None:
    good = server_context(ca.issue_cert("127.0.0.1"))
    with connect_proxy(good) as proxy, SecureSession(ca_bundle=ca_path) as session:
        session.proxies = {"https": proxy.url}
        assert session.get(server_url).status_code == 200  # TLS inside TLS
        assert proxy.targets
    bad = server_context(other_ca.issue_cert("127.0.0.1"))
    with connect_proxy(bad) as proxy, SecureSession(ca_bundle=ca_path) as session:
        session.proxies = {"https": proxy.url}
        with pytest.raises(requests.exceptions.ProxyError, match="CERTIFICATE_VERIFY_FAILED"):
            session.get(server_url)
        assert proxy.targets == []


def test_eight_threads_share_one_session(server: KeepAliveHTTPSServer, ca_path: str) -> None:
    server_url = server.url_for("/")
    errors: list[BaseException] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(25):
            try:
                status = session.get(server_url).status_code
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)
            else:
                with lock:
                    statuses.append(status)

    with SecureSession(ca_bundle=ca_path) as session:
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in [pool.submit(work) for _ in range(8)]:
                future.result()
        assert errors == []
        assert statuses == [200] * 200
    # connections are pooled and reused (at most one per thread), not one per request
    assert 1 <= server.connections <= 8


def test_deprecated_get_connection_uses_the_config(server_url: str, ca_path: str) -> None:
    adapter = TLSAdapter(TLSConfig(ca_bundle=ca_path))
    pool = adapter.get_connection(server_url)
    assert pool.conn_kw["ssl_context"] is adapter.tls.ssl_context()
    adapter.close()


def test_cert_as_list_is_accepted(server_url: str, ca_path: str, ca: trustme.CA, tmp_path) -> None:
    leaf = ca.issue_cert("client")
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    leaf.cert_chain_pems[0].write_to_path(cert)
    leaf.private_key_pem.write_to_path(key)
    with SecureSession(ca_bundle=ca_path) as session:
        assert session.get(server_url, cert=[str(cert), str(key)]).status_code == 200
