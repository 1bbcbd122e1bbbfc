"""Certificates for development and tests: a local CA, server, client and self-signed certs.

Built on `cryptography`; nothing is printed and nothing is prompted for. A
`LocalCA` can live in a directory and be reused across runs (like mkcert's CAROOT);
certificates come back as `CertKeyPair` values that write themselves as PEM (keys
``0600``, optionally encrypted) or PKCS#12, refusing to overwrite unless asked.

Example:
    >>> ca = LocalCA.load_or_create("~/.local/share/securesession/ca")  # doctest: +SKIP
    >>> pair = ca.issue_server_cert("localhost", "127.0.0.1", "*.dev.example")  # doctest: +SKIP
    >>> pair.write("localhost.pem", "localhost-key.pem")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

__all__ = ["CertKeyPair", "KeyType", "LocalCA", "self_signed_cert"]

_DAY = datetime.timedelta(days=1)
_BACKDATE = datetime.timedelta(hours=1)  # tolerate small clock differences between machines


class KeyType(enum.Enum):
    """Private key algorithms: EC P-256 is the default (small, fast, universally supported)."""

    EC_P256 = "ec"
    RSA_2048 = "rsa2048"
    RSA_3072 = "rsa3072"
    RSA_4096 = "rsa4096"
    ED25519 = "ed25519"

    @classmethod
    def parse(cls, value: KeyType | str) -> KeyType:
        """Accept a KeyType or its name as the CLI spells it ("ec", "rsa" = RSA 2048, ...)."""
        if isinstance(value, KeyType):
            return value
        aliases = {"rsa": cls.RSA_2048, "ecdsa": cls.EC_P256, "p256": cls.EC_P256}
        try:
            return aliases.get(value.lower()) or cls(value.lower())
        except ValueError:
            names = ", ".join(k.value for k in cls)
            msg = f"key type must be one of {names} (or rsa), got {value!r}"
            raise ValueError(msg) from None

    def generate(self) -> CertificateIssuerPrivateKeyTypes:
        """A new private key of this type."""
        if self is KeyType.EC_P256:
            return ec.generate_private_key(ec.SECP256R1())
        if self is KeyType.ED25519:
            return ed25519.Ed25519PrivateKey.generate()
        bits = int(self.value.removeprefix("rsa"))
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _hash_for(key: Any) -> hashes.HashAlgorithm | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _general_names(names: Sequence[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name.strip("[]"))))
        except ValueError:
            if not name or any(c.isspace() or c in "/:@" for c in name):
                msg = f"not a DNS name or IP address: {name!r}"
                raise ValueError(msg) from None
            out.append(x509.DNSName(name.lower()))
    return out


def _write_private(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to a new ``0600`` file (never world-readable, even for a moment)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        msg = f"{path} exists; pass overwrite=True (or --overwrite) to replace it"
        raise FileExistsError(msg) from None
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)  # O_TRUNC keeps an existing file's mode
        f.write(data)


def _write_public(path: Path, data: bytes, *, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        msg = f"{path} exists; pass overwrite=True (or --overwrite) to replace it"
        raise FileExistsError(msg)
    path.write_bytes(data)


def _password_bytes(password: str | bytes | None) -> bytes | None:
    return password.encode() if isinstance(password, str) else password


@dataclasses.dataclass(frozen=True)
class CertKeyPair:
    """A certificate, its private key, and the chain above it (not the root).

    Attributes:
        certificate: The certificate.
        key: Its private key (never shown in repr).
        chain: Intermediate certificates to send after it, if any.
    """

    certificate: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes = dataclasses.field(repr=False)
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def cert_pem(self) -> bytes:
        """The certificate followed by its chain, PEM."""
        pem = serialization.Encoding.PEM
        return b"".join(c.public_bytes(pem) for c in (self.certificate, *self.chain))

    def key_pem(self, password: str | bytes | None = None) -> bytes:
        """The private key, PKCS#8 PEM; encrypted (AES-256) when ``password`` is given."""
        secret = _password_bytes(password)
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(secret)
            if secret
            else serialization.NoEncryption()
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def pkcs12(self, password: str | bytes | None = None, name: str | None = None) -> bytes:
        """A PKCS#12 (.p12) bundle of the certificate, chain and key."""
        secret = _password_bytes(password)
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(secret)
            if secret
            else serialization.NoEncryption()
        )
        label = (name or self.common_name).encode()
        return pkcs12.serialize_key_and_certificates(
            label,
            self.key,  # type: ignore[arg-type]  # every KeyType is PKCS#12-serializable
            self.certificate,
            list(self.chain) or None,
            encryption,
        )

    @property
    def common_name(self) -> str:
        """The certificate's subject CN (or '')."""
        attrs = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(attrs[0].value) if attrs else ""

    @property
    def not_after(self) -> datetime.datetime:
        """When the certificate expires (UTC)."""
        return self.certificate.not_valid_after_utc

    def write(
        self,
        cert_path: str | os.PathLike[str],
        key_path: str | os.PathLike[str],
        *,
        password: str | bytes | None = None,
        overwrite: bool = False,
    ) -> tuple[Path, Path]:
        """Write the certificate (with chain) and the key (``0600``) as PEM.

        Raises:
            FileExistsError: a file exists and ``overwrite`` is False (nothing is written).
        """
        cert, key = Path(cert_path), Path(key_path)
        if not overwrite:
            for path in (cert, key):
                if path.exists():
                    msg = f"{path} exists; pass overwrite=True (or --overwrite) to replace it"
                    raise FileExistsError(msg)
        _write_private(key, self.key_pem(password), overwrite=overwrite)
        _write_public(cert, self.cert_pem, overwrite=True)
        return cert, key

    def write_pkcs12(
        self,
        path: str | os.PathLike[str],
        *,
        password: str | bytes | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Write a PKCS#12 bundle (``0600``)."""
        target = Path(path)
        _write_private(target, self.pkcs12(password), overwrite=overwrite)
        return target


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: Any,
    days: int,
    not_before: datetime.datetime | None,
) -> x509.CertificateBuilder:
    if days < 1:
        msg = f"days must be >= 1, got {days}"
        raise ValueError(msg)
    start = not_before or datetime.datetime.now(datetime.timezone.utc) - _BACKDATE
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + days * _DAY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(
    *, key_encipherment: bool = False, key_cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    """DigitalSignature plus what is asked; every other usage off."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf_extensions(
    builder: x509.CertificateBuilder, san: list[x509.GeneralName], *, client: bool, key: Any
) -> x509.CertificateBuilder:
    rsa_key = isinstance(key, rsa.RSAPrivateKey)
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            # RSA key exchange in TLS 1.2 needs key_encipherment.
            _key_usage(key_encipherment=rsa_key),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder


@dataclasses.dataclass(frozen=True)
class LocalCA:
    """A certificate authority for development, optionally kept in a directory.

    Attributes:
        certificate: The CA certificate (what clients trust).
        key: The CA's private key (never shown in repr).
        directory: Where it is kept (``ca.pem``, ``ca-key.pem``), or None in memory.
        created: True when `load_or_create` made it just now.
    """

    certificate: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes = dataclasses.field(repr=False)
    directory: Path | None = None
    created: bool = False

    CERT_FILE = "ca.pem"
    KEY_FILE = "ca-key.pem"

    @classmethod
    def create(
        cls,
        name: str = "securesession development CA",
        *,
        key_type: KeyType | str = KeyType.EC_P256,
        days: int = 3650,
    ) -> LocalCA:
        """A new CA, in memory."""
        key = KeyType.parse(key_type).generate()
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "securesession"),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        cert = (
            _builder(subject, subject, key.public_key(), days, None)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .sign(key, _hash_for(key))  # type: ignore[arg-type]
        )
        return cls(cert, key)

    @classmethod
    def load_or_create(
        cls,
        directory: str | os.PathLike[str],
        *,
        name: str = "securesession development CA",
        key_type: KeyType | str = KeyType.EC_P256,
    ) -> LocalCA:
        """Load the CA kept in ``directory``, or create it there (key ``0600``, dir ``0700``)."""
        root = Path(directory).expanduser()
        cert_path, key_path = root / cls.CERT_FILE, root / cls.KEY_FILE
        if cert_path.exists() and key_path.exists():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), None)
            return cls(cert, key, root, created=False)  # type: ignore[arg-type]
        if cert_path.exists() or key_path.exists():
            msg = f"{root} holds only half a CA ({cert_path.name} or {key_path.name} is missing)"
            raise FileExistsError(msg)
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        ca = cls.create(name, key_type=key_type)
        _write_private(key_path, ca.key_pem(), overwrite=False)
        _write_public(cert_path, ca.cert_pem, overwrite=False)
        return dataclasses.replace(ca, directory=root, created=True)

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate, PEM: the file clients put in their trust store."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def cert_path(self) -> Path | None:
        """Path of ``ca.pem`` when the CA is kept in a directory."""
        return self.directory / self.CERT_FILE if self.directory else None

    def key_pem(self) -> bytes:
        """The CA private key, PEM (unencrypted: it guards development certificates only)."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def _issue(
        self,
        common_name: str,
        san: list[x509.GeneralName],
        *,
        client: bool,
        key_type: KeyType | str,
        days: int,
        not_before: datetime.datetime | None,
    ) -> CertKeyPair:
        key = KeyType.parse(key_type).generate()
        builder = _builder(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]),
            self.certificate.subject,
            key.public_key(),
            days,
            not_before,
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
            critical=False,
        )
        builder = _leaf_extensions(builder, san, client=client, key=key)
        return CertKeyPair(builder.sign(self.key, _hash_for(self.key)), key)  # type: ignore[arg-type]

    def issue_server_cert(
        self,
        *names: str,
        key_type: KeyType | str = KeyType.EC_P256,
        days: int = 825,
        not_before: datetime.datetime | None = None,
    ) -> CertKeyPair:
        """A server certificate for DNS names, IP addresses and wildcards (``*.example``).

        825 days is the longest validity Apple platforms accept for TLS server certificates.
        """
        if not names:
            msg = "a server certificate needs at least one name"
            raise ValueError(msg)
        san = _general_names(names)
        return self._issue(
            names[0], san, client=False, key_type=key_type, days=days, not_before=not_before
        )

    def issue_client_cert(
        self,
        name: str,
        *,
        email: str | None = None,
        key_type: KeyType | str = KeyType.EC_P256,
        days: int = 825,
        not_before: datetime.datetime | None = None,
    ) -> CertKeyPair:
        """A client certificate (clientAuth) whose subject CN is ``name``."""
        # An e-mail goes in as an rfc822Name SAN: what some servers map users by.
        san: list[x509.GeneralName] = [x509.RFC822Name(email)] if email else []
        return self._issue(
            name, san, client=True, key_type=key_type, days=days, not_before=not_before
        )


def self_signed_cert(
    *names: str,
    key_type: KeyType | str = KeyType.EC_P256,
    days: int = 365,
) -> CertKeyPair:
    """A self-signed server certificate for ``names`` (DNS names and IP addresses)."""
    if not names:
        msg = "a certificate needs at least one name"
        raise ValueError(msg)
    key = KeyType.parse(key_type).generate()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    builder = _leaf_extensions(
        _builder(subject, subject, key.public_key(), days, None),
        _general_names(names),
        client=False,
        key=key,
    )
    return CertKeyPair(builder.sign(key, _hash_for(key)), key)  # type: ignore[arg-type]
