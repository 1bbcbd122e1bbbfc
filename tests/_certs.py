"""Certificates trustme cannot make, from the library's own builders."""

from __future__ import annotations

import datetime
from typing import Any

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from securesession._testing import _ca_signer, crl, make_leaf
from securesession.certs import self_signed_cert

__all__ = [
    "cn_only",
    "crl",
    "leaf_with_aia",
    "rsa_1024_ca_leaf",
    "rsa_1024_leaf",
    "self_signed",
    "sha1_leaf",
]

_DAY = datetime.timedelta(days=1)


def self_signed(*names: str) -> tuple[bytes, bytes]:
    """A self-signed leaf for ``names``: (cert PEM, key PEM)."""
    pair = self_signed_cert(*names)
    return pair.cert_pem, pair.key_pem()


def leaf_with_aia(issuer: trustme.CA, *names: str, aia_url: str) -> tuple[bytes, bytes]:
    """A leaf signed by ``issuer`` that names where its issuer can be fetched (AIA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = make_leaf(key, _ca_signer(issuer), names, aia_url=aia_url)
    pem = serialization.Encoding.PEM
    return cert.public_bytes(pem), key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_pair(cert: x509.Certificate, key: Any) -> tuple[bytes, bytes]:
    pem = serialization.Encoding.PEM
    return cert.public_bytes(pem), key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _builder(subject: x509.Name, issuer: x509.Name, key: Any) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + 30 * _DAY)
    )


def _cn(name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])


def cn_only(issuer: trustme.CA, name: str) -> tuple[bytes, bytes]:
    """A leaf signed by ``issuer`` whose only name is its subject CN (no subjectAltName)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject, ca_key = _ca_signer(issuer)
    return _pem_pair(_builder(_cn(name), subject, key).sign(ca_key, hashes.SHA256()), key)


def rsa_1024_leaf(issuer: trustme.CA, name: str) -> tuple[bytes, bytes]:
    """A leaf for ``name`` with a 1024-bit RSA key, signed (SHA-256) by ``issuer``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505  # weak on purpose
    cert = make_leaf(key, _ca_signer(issuer), (name,))  # type: ignore[arg-type]  # any key
    return _pem_pair(cert, key)


def rsa_1024_ca_leaf(name: str) -> tuple[bytes, bytes, bytes]:
    """A leaf for ``name`` issued by a CA with a 1024-bit RSA key: (leaf, key, CA PEM)."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505  # weak on purpose
    ca_name = _cn("weak test CA")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf, key_pem = _pem_pair(make_leaf(key, (ca_name, ca_key), (name,)), key)
    return leaf, key_pem, ca_cert.public_bytes(serialization.Encoding.PEM)


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + body


_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")  # OID sha256WithRSAEncryption
_SHA1_RSA = bytes.fromhex("06092a864886f70d010105")  # OID sha1WithRSAEncryption, same length


def sha1_leaf(issuer: trustme.CA, name: str) -> tuple[bytes, bytes]:
    """A leaf for ``name`` that ``issuer`` (an RSA CA) signed with SHA-1.

    cryptography no longer signs certificates with SHA-1, so this signs a SHA-256
    certificate's body again: the algorithm OID swapped (same length), the
    signature made over it with SHA-1, the DER put together by hand.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject, ca_key = _ca_signer(issuer)
    tbs = make_leaf(key, (subject, ca_key), (name,)).tbs_certificate_bytes
    assert tbs.count(_SHA256_RSA) == 1, "issuer must be an RSA CA"
    tbs = tbs.replace(_SHA256_RSA, _SHA1_RSA)
    signature = ca_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303  # weak on purpose
    algorithm = _der(0x30, _SHA1_RSA + b"\x05\x00")  # AlgorithmIdentifier, NULL parameters
    der = _der(0x30, tbs + algorithm + _der(0x03, b"\x00" + signature))
    return _pem_pair(x509.load_der_x509_certificate(der), key)
