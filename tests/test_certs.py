"""securesession.certs: every certificate it makes works in a real handshake."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509

from securesession import ClientCert, HostnameMismatchError, SecureSession
from securesession.certs import CertKeyPair, KeyType, LocalCA, self_signed_cert

from .conftest import KeepAliveFactory


def serve_pair(make_keepalive: KeepAliveFactory, pair: CertKeyPair, tmp_path: Path, **kw: object):  # type: ignore[no-untyped-def]
    cert, key = pair.write(tmp_path / f"{id(pair)}.pem", tmp_path / f"{id(pair)}-key.pem")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if kw.get("client_ca") is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=kw["client_ca"].cert_pem.decode())  # type: ignore[attr-defined]
    return make_keepalive(ctx)


@pytest.mark.parametrize("key_type", list(KeyType))
def test_server_cert_of_every_key_type(
    make_keepalive: KeepAliveFactory, tmp_path: Path, key_type: KeyType
) -> None:
    ca = LocalCA.create()
    pair = ca.issue_server_cert("localhost", "127.0.0.1", key_type=key_type, days=30)
    server = serve_pair(make_keepalive, pair, tmp_path)
    with SecureSession(ca_bundle=ca.cert_pem) as session:
        assert session.get(server.url_for("/")).text == "ok"
    assert 29 <= (pair.not_after - pair.certificate.not_valid_before_utc).days <= 30


def test_wildcard_and_ip_names(make_keepalive: KeepAliveFactory, tmp_path: Path) -> None:
    ca = LocalCA.create()
    server = serve_pair(make_keepalive, ca.issue_server_cert("*.dev.example", "::1"), tmp_path)
    with SecureSession(ca_bundle=ca.cert_pem, server_hostname="api.dev.example") as session:
        assert session.get(server.url_for("/")).status_code == 200
    with (
        SecureSession(ca_bundle=ca.cert_pem, server_hostname="a.b.dev.example") as session,
        pytest.raises(HostnameMismatchError),
    ):
        session.get(server.url_for("/"))  # a wildcard covers one label only


def test_client_cert_encrypted_and_pkcs12(make_keepalive: KeepAliveFactory, tmp_path: Path) -> None:
    ca = LocalCA.create()
    server = serve_pair(make_keepalive, ca.issue_server_cert("127.0.0.1"), tmp_path, client_ca=ca)
    client = ca.issue_client_cert("robot", email="robot@example.test", key_type="ed25519")
    eku = client.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in eku
    cert, key = client.write(tmp_path / "robot.pem", tmp_path / "robot-key.pem", password="pw")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    p12 = client.write_pkcs12(tmp_path / "robot.p12", password="pw")
    for identity in (
        ClientCert(cert, key, password="pw"),
        ClientCert.from_pkcs12(p12, password="pw"),
    ):
        with SecureSession(ca_bundle=ca.cert_pem, client_cert=identity) as session:
            assert session.get(server.url_for("/")).text == "ok robot"


def test_self_signed(make_keepalive: KeepAliveFactory, tmp_path: Path) -> None:
    pair = self_signed_cert("127.0.0.1", key_type=KeyType.RSA_2048)
    server = serve_pair(make_keepalive, pair, tmp_path)
    with SecureSession(ca_bundle=pair.cert_pem) as session:
        assert session.get(server.url_for("/")).status_code == 200


def test_local_ca_directory_is_reused(tmp_path: Path) -> None:
    first = LocalCA.load_or_create(tmp_path / "ca")
    again = LocalCA.load_or_create(tmp_path / "ca")
    assert first.created
    assert not again.created
    assert again.certificate == first.certificate
    assert stat.S_IMODE((tmp_path / "ca" / "ca-key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "ca").stat().st_mode) == 0o700
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "ca.pem").write_bytes(first.cert_pem)
    with pytest.raises(FileExistsError, match="half a CA"):
        LocalCA.load_or_create(tmp_path / "half")


def test_write_refuses_to_overwrite(tmp_path: Path) -> None:
    pair = self_signed_cert("localhost")
    pair.write(tmp_path / "c.pem", tmp_path / "k.pem")
    other = self_signed_cert("localhost")
    with pytest.raises(FileExistsError, match=r"c\.pem exists"):
        other.write(tmp_path / "c.pem", tmp_path / "k2.pem")
    assert not (tmp_path / "k2.pem").exists()  # nothing half-done
    other.write(tmp_path / "c.pem", tmp_path / "k.pem", overwrite=True)
    assert (tmp_path / "c.pem").read_bytes() == other.cert_pem
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600


def test_repr_hides_the_key() -> None:
    pair = self_signed_cert("localhost")
    ca = LocalCA.create()
    assert "PRIVATE" not in repr(pair) + repr(ca)
    assert "key=" not in repr(pair)


@pytest.mark.parametrize("bad", [{"names": ()}, {"names": ("has space",)}, {"days": 0}])
def test_bad_input(bad: dict[str, object]) -> None:
    ca = LocalCA.create()
    names = bad.get("names", ("localhost",))
    with pytest.raises(ValueError, match="name|days"):
        ca.issue_server_cert(*names, days=bad.get("days", 30))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="key type must be one of"):
        KeyType.parse("dsa")
