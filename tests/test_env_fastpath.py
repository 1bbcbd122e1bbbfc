"""The per-request environment lookup selects exactly the proxy requests would."""

from __future__ import annotations

import itertools

import pytest
import requests
from requests.utils import get_environ_proxies, select_proxy

from securesession import SecureSession
from securesession._session import _environ_proxies

ENVIRONMENTS: list[dict[str, str]] = [
    {},
    {"HTTPS_PROXY": "http://upper:3128"},
    {"https_proxy": "http://lower:3128"},
    {"HTTPS_PROXY": "http://upper:3128", "https_proxy": "http://lower:3128"},
    {"HTTPS_PROXY": "http://upper:3128", "https_proxy": ""},  # empty lowercase disables
    {"http_proxy": "http://plain-only:3128"},
    {"ALL_PROXY": "socks5://all:1080"},
    {"all_proxy": "http://all:3128", "no_proxy": "example.com"},
    {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "internal.example,10.0.0.0/8"},
    {"https_proxy": "http://p:3128", "no_proxy": "*"},
    {"HTTP_PROXY": "http://p:3128", "NO_PROXY": "example.com:8080"},
    {"HTTP_PROXY": "http://cgi:3128", "REQUEST_METHOD": "GET"},  # CGI: HTTP_PROXY ignored
    {"ftp_proxy": "http://ftp:21", "no_proxy": ".example.com"},
    {"https_proxy": "http://p:3128", "no_proxy": ".example.com"},
    {"Https_Proxy": "http://mixed-case:3128"},  # urllib lowercases every name
    {"All_Proxy": "http://mixed-all:3128", "No_Proxy": "example.com"},
]
URLS = [
    "https://example.com/",
    "http://example.com:8080/path",
    "https://10.1.2.3/",
    "https://localhost:8443/",
    "https://api.internal.example/v1",
    "HTTPS://Example.COM/upper",
]
VARIABLES = {key for env in ENVIRONMENTS for key in env} | {"REQUEST_METHOD"}


@pytest.mark.parametrize(
    ("env", "url"), list(itertools.product(ENVIRONMENTS, URLS)), ids=lambda v: str(v)[:40]
)
def test_same_proxy_as_requests(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str
) -> None:
    for key in VARIABLES:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    theirs = get_environ_proxies(url)
    ours = _environ_proxies(url, None)
    assert select_proxy(url, ours) == select_proxy(url, theirs)
    # ... and through the whole session machinery, against requests.Session itself
    with SecureSession() as secure, requests.Session() as plain:
        mine = secure.merge_environment_settings(url, {}, None, True, None)["proxies"]
        reference = plain.merge_environment_settings(url, {}, None, True, None)["proxies"]
    assert select_proxy(url, mine) == select_proxy(url, reference)


def test_explicit_proxies_and_no_proxy_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://env:3128")
    url = "https://example.com/"
    with SecureSession() as secure, requests.Session() as plain:
        for proxies in ({}, {"https": "http://mine:1"}, {"no_proxy": "example.com"}):
            mine = secure.merge_environment_settings(url, dict(proxies), None, True, None)
            reference = plain.merge_environment_settings(url, dict(proxies), None, True, None)
            assert select_proxy(url, mine["proxies"]) == select_proxy(url, reference["proxies"])
        secure.proxies = {"https": "http://session:2"}
        plain.proxies = {"https": "http://session:2"}
        mine = secure.merge_environment_settings(url, {"https": None}, None, True, None)
        reference = plain.merge_environment_settings(url, {"https": None}, None, True, None)
        assert mine["proxies"] == dict(reference["proxies"])


def test_trust_env_false_reads_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://env:3128")
    with SecureSession() as secure:
        secure.trust_env = False
        assert (
            secure.merge_environment_settings("https://x/", {}, None, None, None)["proxies"] == {}
        )


def test_other_settings_merge_like_requests() -> None:
    with SecureSession() as secure, requests.Session() as plain:
        for session in (secure, plain):
            session.trust_env = False
            session.stream = True
            session.cert = "session.pem"
        for args in [(None, None, None), (False, "/ca.pem", ("c", "k")), (None, False, None)]:
            mine = secure.merge_environment_settings("https://x/", {}, *args)
            reference = plain.merge_environment_settings("https://x/", {}, *args)
            assert {k: mine[k] for k in ("stream", "verify", "cert")} == {
                k: reference[k] for k in ("stream", "verify", "cert")
            }
