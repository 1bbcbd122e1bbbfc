"""Drop-in: functions patched where requests looks them up are honoured by SecureSession too.

requests' Session calls get_netrc_auth, get_environ_proxies, merge_setting, merge_cookies
and merge_hooks as globals of requests.sessions; applications and requests' own tests
patch them there. SecureSession's fast paths must not have bound them at import.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import requests.sessions
import requests.utils
import trustme
from werkzeug import Request, Response

from securesession import SecureSession

from ._proxy import connect_proxy
from ._server import KeepAliveHTTPSServer
from .conftest import ServerFactory


def _echo_authorization(request: Request) -> Response:
    return Response(request.headers.get("Authorization", "none"), content_type="text/plain")


@pytest.fixture
def auth_url(make_server: ServerFactory, ca: trustme.CA) -> str:
    return str(make_server(ca.issue_cert("127.0.0.1"), handler=_echo_authorization).url_for("/"))


def test_patched_get_netrc_auth_is_honoured(
    auth_url: str, ca_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[object] = []

    def fake_netrc(url: object, raise_errors: bool = False) -> tuple[str, str]:
        seen.append(url)
        return ("u", "p")

    monkeypatch.setattr(requests.sessions, "get_netrc_auth", fake_netrc)
    with SecureSession(ca_bundle=ca_path) as session:
        assert session.get(auth_url).text == "Basic dTpw"
        assert seen == [auth_url]
        session.trust_env = False  # as in requests: no netrc without trust_env
        assert session.get(auth_url).text == "none"
    request = requests.Request("GET", auth_url)
    with requests.Session() as reference, SecureSession() as fast:
        assert (
            fast.prepare_request(request).headers["Authorization"]
            == reference.prepare_request(request).headers["Authorization"]
        )


@pytest.mark.parametrize("where", ["sessions.get_environ_proxies", "utils.getproxies"])
def test_patched_proxy_lookup_is_honoured(
    server: KeepAliveHTTPSServer, ca_path: str, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    # No *_proxy variable is set (conftest clears them): only the patch names a proxy.
    module_name, name = where.split(".")
    module = requests.sessions if module_name == "sessions" else requests.utils
    with connect_proxy() as proxy, SecureSession(ca_bundle=ca_path) as session:
        if name == "getproxies":
            monkeypatch.setattr(module, name, lambda: {"https": proxy.url})
        else:
            monkeypatch.setattr(module, name, lambda url, no_proxy=None: {"https": proxy.url})
        assert session.get(server.url_for("/")).status_code == 200
        assert proxy.targets == [f"127.0.0.1:{server.port}"]
        session.trust_env = False
        assert session.get(server.url_for("/")).status_code == 200
        assert len(proxy.targets) == 1  # not consulted without trust_env


@pytest.mark.parametrize("name", ["merge_setting", "merge_hooks", "merge_cookies"])
def test_patched_merge_functions_are_called(
    name: str, ca_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = getattr(requests.sessions, name)
    calls: list[tuple[Any, ...]] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(requests.sessions, name, spy)
    request = requests.Request("GET", "https://example.test/", headers={"X-A": "1"})
    with SecureSession(ca_bundle=ca_path) as fast, requests.Session() as reference:
        fast.headers["X-S"] = "s"
        reference.headers["X-S"] = "s"
        fast_headers = dict(fast.prepare_request(request).headers)
        fast_calls = len(calls)
        assert fast_headers == dict(reference.prepare_request(request).headers)
    assert fast_calls > 0
