"""SecureSession.prepare_request prepares exactly what requests.Session.prepare_request does."""

from __future__ import annotations

import collections
import itertools
from pathlib import Path

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from securesession import SecureSession

REQUEST_HEADERS = [None, {}, {"X-A": "1"}, {"x-a": None, "X-B": "2"}, [("X-List", "3")]]
SESSION_HEADERS = [
    None,
    CaseInsensitiveDict({"User-Agent": "ua", "X-A": "s"}),
    {"X-B": "session", "Accept": "*/*"},
    collections.OrderedDict([("X-C", "c")]),
]
REQUEST_PARAMS = [
    None,
    {},
    {"q": "1"},
    {"q": None, "r": "2"},
    [("k", "v"), ("k", "w")],
    "a=b",
    b"x=y",
]
SESSION_PARAMS = [None, {}, {"s": "1", "q": "session"}]
URLS = ["https://example.test/path?z=9", "http://example.test/", "https://example.test:8443/a b"]


@pytest.fixture(scope="module")
def ca_pem() -> bytes:
    import trustme

    return trustme.CA().cert_pem.bytes()  # a small bundle: building certifi's per test is slow


def _prepared(session: requests.Session, request: requests.Request) -> tuple[object, ...]:
    p = session.prepare_request(request)
    return (p.method, p.url, dict(p.headers), p.body, p.hooks, p._cookies.get_dict())  # type: ignore[union-attr]


def test_headers_and_params(ca_pem: bytes) -> None:
    combinations = itertools.product(
        REQUEST_HEADERS, SESSION_HEADERS, REQUEST_PARAMS, SESSION_PARAMS
    )
    with SecureSession(ca_bundle=ca_pem) as fast, requests.Session() as reference:
        for req_headers, ses_headers, req_params, ses_params in combinations:
            for session in (fast, reference):
                session.headers = ses_headers  # type: ignore[assignment]
                session.params = ses_params  # type: ignore[assignment]
            for url in URLS:
                case = (req_headers, ses_headers, req_params, ses_params, url)
                request = requests.Request("get", url, headers=req_headers, params=req_params)  # type: ignore[arg-type]
                try:
                    expected = _prepared(reference, request)
                except Exception as exc:  # the same failure is the expected outcome
                    with pytest.raises(type(exc)):
                        _prepared(fast, request)
                    continue
                assert _prepared(fast, request) == expected, case


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": {"a": "1"}},
        {"json": {"k": [1, 2]}},
        {"data": b"raw", "headers": {"Content-Type": "application/octet-stream"}},
        {"cookies": {"c": "1"}},
        {"auth": ("user", "pw")},
        {"files": {"f": ("name.txt", b"content")}},
        {"method": "post", "params": {"q": "x"}, "data": "text"},
    ],
)
def test_bodies_cookies_auth(ca_pem: bytes, kwargs: dict[str, object]) -> None:
    method = str(kwargs.pop("method", "post"))
    with SecureSession(ca_bundle=ca_pem) as fast, requests.Session() as reference:
        for session in (fast, reference):
            session.cookies.set("session_cookie", "s")
            session.auth = ("session", "auth") if "auth" not in kwargs else None
        request = requests.Request(method, "https://example.test/", **kwargs)  # type: ignore[arg-type]
        fast_p, ref_p = fast.prepare_request(request), reference.prepare_request(request)
    assert (fast_p.method, fast_p.url) == (ref_p.method, ref_p.url)
    if not kwargs.get("files"):
        assert dict(fast_p.headers) == dict(ref_p.headers)
        assert fast_p.body == ref_p.body
    else:  # multipart boundaries are random: compare all but the boundary
        assert fast_p.headers.pop("Content-Type").startswith("multipart/form-data; boundary=")
        ref_p.headers.pop("Content-Type")
        fast_p.headers.pop("Content-Length")
        ref_p.headers.pop("Content-Length")
        assert dict(fast_p.headers) == dict(ref_p.headers)
        assert b"content" in fast_p.body  # type: ignore[operator]


def test_netrc_is_read_like_requests(
    ca_pem: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine example.test login alice password wonderland\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    request = requests.Request("get", "https://example.test/")
    with SecureSession() as fast, requests.Session() as reference:
        assert (
            fast.prepare_request(request).headers["Authorization"]
            == (reference.prepare_request(request).headers["Authorization"])
        )
        fast.trust_env = reference.trust_env = False
        assert "Authorization" not in fast.prepare_request(request).headers
