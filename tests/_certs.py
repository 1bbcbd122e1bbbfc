"""Certificates trustme cannot make: self-signed leaves, leaves with AIA, CRLs."""

from __future__ import annotations

import datetime
import ipaddress

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

_NOW = datetime.datetime.now(datetime.timezone.utc)


def _san(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _pem(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[bytes, bytes]:
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def self_signed(*names: str) -> tuple[bytes, bytes]:
    """A self-signed leaf for ``names``: (cert PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOW - datetime.timedelta(days=1))
        .not_valid_after(_NOW + datetime.timedelta(days=30))
        .add_extension(_san(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _pem(cert, key)


def leaf_with_aia(issuer: trustme.CA, *names: str, aia_url: str) -> tuple[bytes, bytes]:
    """A leaf signed by ``issuer`` that names where its issuer can be fetched (AIA)."""
    issuer_cert = x509.load_pem_x509_certificate(issuer.cert_pem.bytes())
    issuer_key = serialization.load_pem_private_key(issuer.private_key_pem.bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOW - datetime.timedelta(days=1))
        .not_valid_after(_NOW + datetime.timedelta(days=30))
        .add_extension(_san(names), critical=False)
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(aia_url),
                    )
                ]
            ),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return _pem(cert, key)


def crl(issuer: trustme.CA, revoked: list[bytes]) -> bytes:
    """A CRL from ``issuer`` revoking the given PEM certificates: PEM bytes."""
    issuer_cert = x509.load_pem_x509_certificate(issuer.cert_pem.bytes())
    issuer_key = serialization.load_pem_private_key(issuer.private_key_pem.bytes(), None)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_cert.subject)
        .last_update(_NOW - datetime.timedelta(hours=1))
        .next_update(_NOW + datetime.timedelta(days=7))
    )
    for pem in revoked:
        serial = x509.load_pem_x509_certificate(pem).serial_number
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(_NOW - datetime.timedelta(minutes=5))
            .build()
        )
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(  # type: ignore[arg-type]
        serialization.Encoding.PEM
    )
