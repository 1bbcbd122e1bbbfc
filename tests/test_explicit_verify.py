"""An explicit ``verify=<path>`` is the caller's choice, even when it equals $REQUESTS_CA_BUNDLE.

SecureSession knows where each ``verify`` value came from, so it never guesses from
the string; a TLSAdapter on a plain requests.Session has to (documented limit).
"""

from __future__ import annotations

import pytest
import requests

from securesession import CertificateVerificationError, SecureSession, TLSAdapter, TLSConfig

from ._server import KeepAliveHTTPSServer


@pytest.fixture(params=["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def variable(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def wide(ca_path: str, other_ca_path: str) -> TLSConfig:
    """A config that trusts both CAs: wider than the caller's verify=ca_path."""
    return TLSConfig(ca_bundle=[ca_path, other_ca_path])


def test_per_request_verify_equal_to_the_variable_narrows_trust(
    other_server: KeepAliveHTTPSServer,
    ca_path: str,
    wide: TLSConfig,
    variable: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(variable, ca_path)
    url = other_server.url_for("/")  # signed by other_ca, which ca_path excludes
    with SecureSession(wide) as session:
        assert session.get(url).status_code == 200  # the config's own trust
        with pytest.raises(CertificateVerificationError):
            session.get(url, verify=ca_path)


def test_session_verify_equal_to_the_variable_narrows_trust(
    other_server: KeepAliveHTTPSServer,
    ca_path: str,
    wide: TLSConfig,
    variable: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(variable, ca_path)
    url = other_server.url_for("/")
    with SecureSession(wide) as session:
        session.verify = ca_path
        with pytest.raises(CertificateVerificationError):
            session.get(url)
        # Session.send directly, with session.verify filled in by requests.
        with pytest.raises(CertificateVerificationError):
            session.send(session.prepare_request(requests.Request("GET", url)))
        with pytest.raises(CertificateVerificationError):
            session.send(session.prepare_request(requests.Request("GET", url)), verify=ca_path)


def test_explicit_verify_still_reaches_its_own_server(
    server: KeepAliveHTTPSServer,
    ca_path: str,
    wide: TLSConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_path)
    with SecureSession(wide) as session:
        assert session.get(server.url_for("/"), verify=ca_path).status_code == 200
        session.verify = ca_path
        assert session.get(server.url_for("/")).status_code == 200


def test_the_variable_alone_still_never_overrides_an_explicit_ca_bundle(
    other_server: KeepAliveHTTPSServer,
    ca_path: str,
    other_ca_path: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_path)
    with SecureSession(ca_bundle=other_ca_path) as session:
        assert session.get(other_server.url_for("/")).status_code == 200


def test_plain_session_cannot_tell_an_equal_path_from_the_variable(
    other_server: KeepAliveHTTPSServer,
    ca_path: str,
    wide: TLSConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The documented limit of TLSAdapter on a plain requests.Session: requests has
    # already replaced verify=True by the variable's value, so a path equal to it is
    # taken for the variable, and the explicit ca_bundle is kept.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_path)
    url = other_server.url_for("/")
    with requests.Session() as plain:
        plain.mount("https://", TLSAdapter(wide))
        assert plain.get(url).status_code == 200  # the variable does not narrow the config
        assert plain.get(url, verify=ca_path).status_code == 200  # the guess: same string
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with requests.Session() as plain:
        plain.mount("https://", TLSAdapter(wide))
        with pytest.raises(CertificateVerificationError):  # no variable: no guess
            plain.get(url, verify=ca_path)
