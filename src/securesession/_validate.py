"""Validators of single configuration fields: paths, bytes, versions, pins, names, ciphers.

Each takes what the user wrote and returns the normalized value, or raises a
`TLSConfigError` subclass (or `TypeError` for a wrong type) that names the field.
Cheap on purpose: types, shapes and ``stat`` only; contents are read when the
context is built. `_config` composes them into `TLSConfig` and `ClientCert`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import ssl
import stat
from collections.abc import Sequence
from typing import TypeAlias

from ._files import check_regular
from .errors import CertificateFileError, TLSConfigError

VersionInput: TypeAlias = "ssl.TLSVersion | str | None"
_VersionInput = VersionInput

_PEM_CERT_MARKER = b"-----BEGIN CERTIFICATE-----"
_DER_SEQUENCE = 0x30  # every DER certificate starts with an ASN.1 SEQUENCE tag

_VERSION_NAMES = {
    "1.2": ssl.TLSVersion.TLSv1_2,
    "tlsv1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
    "tlsv1.3": ssl.TLSVersion.TLSv1_3,
}
_SUPPORTED_VERSIONS = (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)


def _describe_bytes(data: bytes) -> str:
    return f"<{len(data)} bytes>"


def _check_path(field: str, value: str | os.PathLike[str], *, allow_dir: bool) -> str:
    path = os.fspath(value)
    if not isinstance(path, str):
        msg = f"{field}: paths must be str or os.PathLike[str], not bytes"
        raise TypeError(msg)
    if "-----BEGIN" in path or "\n" in path:
        # PEM text passed where a path goes: never echo it, it may be a private key.
        msg = f"{field}: got PEM text where a path goes; pass PEM data as bytes (str.encode())"
        raise TypeError(msg)
    if len(path) > 4096:
        msg = f"{field}: a {len(path)}-character string is not a usable path"
        raise CertificateFileError(msg)
    if not path:
        msg = f"{field}: empty path"
        raise CertificateFileError(msg)
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # ValueError: an embedded NUL byte
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        if allow_dir:
            return path
        msg = f"{field}: {path} is a directory, expected a certificate file"
        raise CertificateFileError(msg)
    if st is None:
        msg = f"{field}: {path} does not exist"
        raise CertificateFileError(msg)
    # A FIFO would block the build forever, /dev/zero would fill memory: refuse now.
    check_regular(field, path, st)
    if not os.access(path, os.R_OK):
        msg = f"{field}: {path} is not readable by this process"
        raise CertificateFileError(msg)
    return path


def _check_certificate_bytes(field: str, data: bytes) -> bytes:
    data = bytes(data)
    if _PEM_CERT_MARKER in data or (data[:1] and data[0] == _DER_SEQUENCE):
        return data
    msg = (
        f"{field}: {_describe_bytes(data)} hold neither a PEM certificate "
        "('-----BEGIN CERTIFICATE-----') nor DER certificate data"
    )
    raise CertificateFileError(msg)


def _normalize_version(field: str, value: _VersionInput) -> ssl.TLSVersion | None:
    if value is None:
        return None
    if isinstance(value, ssl.TLSVersion):
        version = value
    elif isinstance(value, str):
        try:
            version = _VERSION_NAMES[value.strip().lower()]
        except KeyError:
            msg = f"{field}: unknown TLS version {value!r}; use '1.2' or '1.3'"
            raise TLSConfigError(msg) from None
    else:
        msg = f"{field} must be an ssl.TLSVersion or a str such as '1.2', got {value!r}"
        raise TypeError(msg)
    if field == "maximum_version" and version is ssl.TLSVersion.MAXIMUM_SUPPORTED:
        return None
    if version not in _SUPPORTED_VERSIONS:
        msg = (
            f"{field}: {version.name} is not supported; securesession speaks TLS 1.2 and "
            "TLS 1.3 only (older versions are broken and disabled by OpenSSL 3 anyway)"
        )
        raise TLSConfigError(msg)
    return version


def _cert_source(field: str, value: object) -> str | bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        if not value:
            msg = f"{field}: empty bytes"
            raise CertificateFileError(msg)
        return bytes(value)
    if isinstance(value, (str, os.PathLike)):
        return _check_path(field, value, allow_dir=False)
    msg = f"{field} must be a path or bytes of PEM data, got {type(value).__name__}"
    raise TypeError(msg)


_PKCS12_SUFFIXES = (".p12", ".pfx")


def _refuse_pkcs12(field: str, path: object) -> None:
    """A .p12/.pfx file where a PEM certificate goes: say which constructor takes it."""
    if isinstance(path, str) and path.lower().endswith(_PKCS12_SUFFIXES):
        msg = (
            f"{field}: {path} is a PKCS#12 bundle; pass "
            "ClientCert.from_pkcs12(path, password=...) instead"
        )
        raise CertificateFileError(msg)


def _normalize_pins(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (tuple, list)):
        msg = f"pins must be a str or a sequence of str, got {type(value).__name__}"
        raise TypeError(msg)
    pins = []
    for pin in value:
        if not isinstance(pin, str):
            msg = f"pins: each pin must be a str, got {type(pin).__name__}"
            raise TypeError(msg)
        algo, sep, encoded = pin.strip().partition("//")
        try:
            digest = base64.b64decode(encoded, validate=True) if sep else b""
        except (binascii.Error, ValueError):  # ValueError: non-ASCII text
            digest = b""
        if algo != "sha256" or len(digest) != 32:
            msg = (
                f"pins: {pin!r} is not a SPKI pin; expected 'sha256//' followed by the base64 "
                "SHA-256 of the public key (as curl's --pinnedpubkey takes)"
            )
            raise TLSConfigError(msg)
        pins.append(f"sha256//{encoded}")
    return tuple(dict.fromkeys(pins))


_CRL_PEM_MARKER = b"-----BEGIN X509 CRL-----"


def _normalize_crl(value: object) -> tuple[str | bytes, ...] | None:
    if value is None:
        return None
    items = (
        (value,)
        if isinstance(value, (str, bytes, bytearray, os.PathLike))
        else value
        if isinstance(value, Sequence)
        else None
    )
    if items is None:
        msg = f"crl must be a path, bytes or a sequence of these, got {type(value).__name__}"
        raise TypeError(msg)
    out: list[str | bytes] = []
    for item in items:
        if isinstance(item, (bytes, bytearray)):
            data = bytes(item)
            if _CRL_PEM_MARKER not in data and data[:1] != b"\x30":
                msg = f"crl: {_describe_bytes(data)} hold neither a PEM nor a DER CRL"
                raise CertificateFileError(msg)
            out.append(data)
        elif isinstance(item, (str, os.PathLike)):
            out.append(_check_path("crl", item, allow_dir=False))
        else:
            msg = f"crl: unsupported item of type {type(item).__name__}"
            raise TypeError(msg)
    if not out:
        msg = "crl: an empty sequence; pass None for no revocation checking"
        raise TLSConfigError(msg)
    return tuple(dict.fromkeys(out))


def _check_server_hostname(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"server_hostname must be a str, got {type(value).__name__}"
        raise TypeError(msg)
    # Imported here, as requests imports idna: only a config that names a host pays.
    import ipaddress

    import idna

    msg = f"server_hostname: {value!r} is not a host name"
    name = value.strip().rstrip(".")
    if name.startswith("[") and name.endswith("]"):  # an IPv6 address as URLs write it
        name = name[1:-1]
    try:
        return str(ipaddress.ip_address(name))  # verified against the certificate's IP SANs
    except ValueError:
        pass  # a name, not an address
    # 253 characters is DNS's limit; checked first, so that no input costs idna's
    # superlinear punycode time.
    if not name or len(name) > 253 or any(c.isspace() or c in "/@:[]\\?#" for c in name):
        raise TLSConfigError(msg)
    try:
        if name.isascii():
            name.encode("idna")  # what ssl does with it: labels of 1 to 63 characters
        else:
            # IDNA 2008 (UTS #46), as requests encodes a URL's host: "straße.example"
            # is "xn--strae-oqa.example", not IDNA 2003's "strasse.example".
            name = idna.encode(name, uts46=True).decode("ascii").rstrip(".")
    except ValueError:  # idna.IDNAError and the codec's UnicodeError
        raise TLSConfigError(msg) from None
    return name.lower()


# Cipher-string words that select NULL, anonymous or export suites.
_WEAK_CIPHER_TOKEN = re.compile(
    r"^(?:E?NULL|A?NULL|ADH|AECDH|EXP(?:ORT)?|COMPLEMENTOF\w+|.*-NULL-.*|(?:EXP|ADH|AECDH)-.*)$",
    re.IGNORECASE,
)
_WEAK_CIPHER_EXCLUSIONS = ":!aNULL:!eNULL:!EXPORT"


def _check_ciphers(ciphers: object) -> str | None:
    if ciphers is None:
        return None
    if not isinstance(ciphers, str):
        msg = f"ciphers must be an OpenSSL cipher string, got {type(ciphers).__name__}"
        raise TypeError(msg)
    if "\x00" in ciphers or not ciphers.isascii():
        msg = "ciphers: an OpenSSL cipher string is ASCII without NUL bytes"
        raise TLSConfigError(msg)
    # A throwaway context is the only authority on what this OpenSSL selects.
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    floor = probe.security_level
    try:
        probe.set_ciphers(ciphers)
    except ssl.SSLError:
        msg = f"ciphers: OpenSSL selects no cipher suite from {ciphers!r}"
        raise TLSConfigError(msg) from None
    if probe.security_level < floor or "@seclevel" in ciphers.lower():
        # @SECLEVEL=0 re-enables 512-bit keys, MD5, SHA-1 and NULL ciphers for every
        # connection of the context: a floor, not a tuning knob.
        msg = (
            f"ciphers: {ciphers!r} sets OpenSSL's security level (@SECLEVEL); securesession "
            f"keeps level {floor} or higher"
        )
        raise TLSConfigError(msg)
    asked = [
        token
        for token in re.split(r"[:,\s]+", ciphers)
        if token
        and token[0] not in "!-"  # excluding a weak class is fine
        and any(_WEAK_CIPHER_TOKEN.search(part) for part in token.lstrip("+").split("+"))
    ]
    if asked:
        # NULL suites send plaintext, anonymous ones authenticate nobody, export
        # ones are breakable: none may ever be negotiated.
        msg = (
            f"ciphers: {ciphers!r} asks for suites without encryption, authentication or "
            f"adequate strength ({', '.join(asked[:5])}); securesession never negotiates them"
        )
        raise TLSConfigError(msg)
    # Classes such as HIGH or ALL include anonymous suites: exclude them explicitly.
    if not ciphers.endswith(_WEAK_CIPHER_EXCLUSIONS):  # replace() validates again
        ciphers = f"{ciphers}{_WEAK_CIPHER_EXCLUSIONS}"
    probe.set_ciphers(ciphers)
    weak = [
        c["name"]
        for c in probe.get_ciphers()
        if "Enc=None" in c["description"] or "Au=None" in c["description"]
    ]
    if weak:  # pragma: no cover - the exclusions above leave none on any OpenSSL we know
        msg = f"ciphers: {ciphers!r} still selects unauthenticated or NULL suites: {weak[:5]}"
        raise TLSConfigError(msg)
    return ciphers
