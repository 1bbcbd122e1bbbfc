"""Names: server_hostname is IDNA 2008 (UTS #46) as in URLs, and is the Host of virtual hosts."""

from __future__ import annotations

import ssl

import pytest
import trustme

from securesession import CertificateVerificationError, SecureSession, TLSConfig, TLSConfigError

from .conftest import KeepAliveFactory

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
