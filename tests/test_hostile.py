"""Hostile input found by review and fuzzing: each is a typed error, at once.

FIFOs and devices where a file goes, huge files, cryptography's untyped failures
(including Rust panics, which escape ``except Exception``), DER-looking garbage,
quadratic PEM scanning, NULL ciphers, and a password in the key slot of ``cert=``.
"""

from __future__ import annotations

import base64
import os
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

from securesession import (
    CertificateFileError,
    ClientCert,
    KeyPasswordError,
    SecureSession,
    TLSConfig,
    TLSConfigError,
)
from securesession._files import MAX_FILE_SIZE

from ._bounded import raised_by
from ._certs import crl


@pytest.fixture
def fifo(tmp_path: Path) -> str:
    path = tmp_path / "pipe.pem"
    os.mkfifo(path)
    return str(path)


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "s.pem")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(path)
        yield path


def _special_paths(fifo: str, unix_socket: str) -> list[str]:
    return [fifo, unix_socket, "/dev/zero", "/dev/null"]


@pytest.mark.parametrize("kind", ["fifo", "socket", "/dev/zero", "/dev/null"])
@pytest.mark.parametrize("field", ["ca_bundle", "cert", "key", "crl", "pkcs12"])
def test_special_files_are_refused_at_once(
    fifo: str, unix_socket: str, ca: trustme.CA, tmp_path: Path, kind: str, field: str
) -> None:
    path = {"fifo": fifo, "socket": unix_socket}.get(kind, kind)
    leaf = ca.issue_cert("c@example.test")
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_bytes(leaf.cert_chain_pems[0].bytes())
    key.write_bytes(leaf.private_key_pem.bytes())
    build: Callable[[], object] = {
        "ca_bundle": lambda: TLSConfig(ca_bundle=path).ssl_context(),
        "cert": lambda: ClientCert(path, key),
        "key": lambda: ClientCert(cert, path),
        "crl": lambda: TLSConfig(crl=path).ssl_context(),
        "pkcs12": lambda: ClientCert.from_pkcs12(path, password="x"),
    }[field]
    error = raised_by(build)
    assert isinstance(error, CertificateFileError), repr(error)
    assert path in str(error)


def test_a_fifo_in_the_environment_fails_the_request_at_once(
    fifo: str, server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fifo)
    with SecureSession() as session:
        error = raised_by(lambda: session.get(server_url, timeout=2))
    assert isinstance(error, CertificateFileError), repr(error)
    assert "REQUESTS_CA_BUNDLE" in str(error)


def test_files_over_the_limit_are_not_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.pem"
    with open(huge, "wb") as f:
        f.truncate(MAX_FILE_SIZE + 1)  # sparse: costs no disk
    with pytest.raises(CertificateFileError, match="limit"):
        TLSConfig(ca_bundle=huge)


def test_an_unterminated_pem_crl_is_a_typed_error(ca_path: str, ca: trustme.CA) -> None:
    data = crl(ca, [])
    with pytest.raises(CertificateFileError, match="crl"):
        TLSConfig(ca_bundle=ca_path, crl=data[: data.index(b"-----END")]).ssl_context()


def _bad_point_certificate(ca: trustme.CA) -> bytes:
    """A client certificate whose EC public key is not on its curve."""
    leaf = ca.issue_cert("c@example.test")
    der = bytearray(
        x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).public_bytes(Encoding.DER)
    )
    point = der.index(b"\x03\x42\x00\x04") + 4  # the BIT STRING of the uncompressed point
    der[point + 10] ^= 0xFF
    body = base64.encodebytes(bytes(der))
    return b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n"


def test_a_mutated_client_certificate_is_a_typed_error(ca: trustme.CA) -> None:
    key = ca.issue_cert("c@example.test").private_key_pem.bytes()
    with pytest.raises(TLSConfigError):
        ClientCert(_bad_point_certificate(ca), key)


def test_a_nul_byte_in_a_pkcs12_password_is_not_a_panic(ca: trustme.CA) -> None:
    leaf = ca.issue_cert("c@example.test")
    p12 = pkcs12.serialize_key_and_certificates(
        b"c",
        serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None),  # type: ignore[arg-type]
        x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()),
        None,
        serialization.BestAvailableEncryption(b"ab"),
    )
    error = raised_by(lambda: ClientCert.from_pkcs12(p12, password="a\x00b"))
    assert isinstance(error, KeyPasswordError), repr(error)
    assert "a\x00b" not in str(error)


def test_der_garbage_after_a_certificate_is_refused(ca: trustme.CA) -> None:
    der = x509.load_pem_x509_certificate(ca.cert_pem.bytes()).public_bytes(Encoding.DER)
    assert TLSConfig(ca_bundle=der + der).ssl_context().cert_store_stats()["x509_ca"] == 1
    with pytest.raises(CertificateFileError, match="DER"):
        TLSConfig(ca_bundle=der + b"\x30\x05junk").ssl_context()


@pytest.mark.parametrize(
    ("field", "line"),
    [("ca_bundle", b"-----BEGIN CERTIFICATE-----\n"), ("crl", b"-----BEGIN X509 CRL-----\n")],
)
def test_pem_scanning_is_linear(ca_path: str, field: str, line: bytes) -> None:
    # 1 MiB of BEGIN lines with no END: a quadratic scan takes many minutes here
    # (256 KiB took 21 s), a linear one milliseconds. The bound only stops a hang.
    hostile = line * (1024 * 1024 // len(line))
    kwargs = (
        {"ca_bundle": hostile} if field == "ca_bundle" else {"ca_bundle": ca_path, "crl": hostile}
    )
    error = raised_by(lambda: TLSConfig(**kwargs).ssl_context(), 60)
    assert isinstance(error, CertificateFileError), repr(error)


@pytest.mark.parametrize(
    "ciphers",
    [
        "eNULL:@SECLEVEL=0",
        "eNULL",
        "aNULL",
        "ADH-AES128-SHA",
        "ECDHE-RSA-NULL-SHA",
        "DEFAULT:@SECLEVEL=1",
    ],
)
def test_ciphers_cannot_select_plaintext_or_lower_the_level(ciphers: str) -> None:
    with pytest.raises(TLSConfigError, match="ciphers"):
        TLSConfig(ciphers=ciphers)


def test_a_cipher_class_keeps_working_without_its_anonymous_suites(
    server_url: str, ca_path: str
) -> None:
    tls = TLSConfig(ca_bundle=ca_path, maximum_version="1.2", ciphers="HIGH")
    names = [c["name"] for c in tls.ssl_context().get_ciphers()]
    assert not [n for n in names if n.startswith(("ADH", "AECDH")) or "NULL" in n]
    with SecureSession(tls) as session:
        assert session.get(server_url, timeout=10).status_code == 200


def test_a_password_in_the_key_slot_of_cert_is_never_shown(
    server_url: str, ca_path: str, ca: trustme.CA, tmp_path: Path
) -> None:
    leaf = ca.issue_cert("c@example.test")
    p12 = tmp_path / "client.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"c",
            serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None),  # type: ignore[arg-type]
            x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()),
            None,
            serialization.BestAvailableEncryption(b"S3cret-pw"),
        )
    )
    renamed = tmp_path / "client-bundle"  # no .p12 suffix to go by
    renamed.write_bytes(p12.read_bytes())
    with SecureSession(ca_bundle=ca_path) as session:
        with pytest.raises(CertificateFileError) as named:
            session.get(server_url, cert=(str(p12), "S3cret-pw"), timeout=10)
        assert "from_pkcs12" in str(named.value)
        with pytest.raises(CertificateFileError) as unnamed:
            session.get(server_url, cert=(str(renamed), "S3cret-pw"), timeout=10)
    for error in (named.value, unnamed.value):
        assert "S3cret-pw" not in str(error) + repr(error)


def test_key_log_files_are_created_private(server_url: str, ca_path: str, tmp_path: Path) -> None:
    keylog = tmp_path / "keys.log"
    with SecureSession(ca_bundle=ca_path, keylog_file=keylog) as session:
        assert session.get(server_url, timeout=10).status_code == 200
    assert keylog.stat().st_size > 0
    assert stat.S_IMODE(keylog.stat().st_mode) == 0o600


def test_requests_error_types_are_kept(fifo: str, server_url: str) -> None:
    """A CertificateFileError is still an OSError, as requests raises for bad paths."""
    with SecureSession() as session:
        error = raised_by(lambda: session.get(server_url, verify=fifo, timeout=2))
    assert isinstance(error, OSError)
    assert not isinstance(error, requests.exceptions.ConnectionError)


def test_a_certificate_on_an_unsupported_curve_is_a_typed_error(ca: trustme.CA) -> None:
    leaf = ca.issue_cert("c@example.test")
    der = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).public_bytes(Encoding.DER)
    prime256v1 = bytes.fromhex("06082a8648ce3d030107")
    prime192v2 = bytes.fromhex("06082a8648ce3d030102")  # same length; cryptography lacks it
    assert prime256v1 in der
    body = base64.encodebytes(der.replace(prime256v1, prime192v2))
    pem = b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n"
    with pytest.raises(TLSConfigError):
        ClientCert(pem, leaf.private_key_pem.bytes())


@pytest.mark.parametrize(
    "fields",
    [
        {"ciphers": "HIGH\ud800"},
        {"ciphers": "HIGH\x00"},
        {"pins": "sha256//\ud800"},
        {"keylog_file": "keys-\ud800.log"},
        {"keylog_file": "keys-\x00.log"},
    ],
    ids=["cipher surrogate", "cipher NUL", "pin surrogate", "keylog surrogate", "keylog NUL"],
)
def test_unencodable_text_in_any_field_is_a_config_error(fields: dict[str, str]) -> None:
    with pytest.raises(TLSConfigError):
        TLSConfig(**fields).ssl_context()  # type: ignore[arg-type]
