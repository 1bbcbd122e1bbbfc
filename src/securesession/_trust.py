"""Loading trust sources into a context: CA files, directories, bytes, system stores, CRLs.

Every file is read through `_files.read_file` (regular files only, bounded,
content and stamp from one descriptor) and handed to OpenSSL as data, never by
path: what OpenSSL loads is exactly what was stamped, so an atomic
``os.replace`` during a build can neither half-load a file nor fail the build.
Each load appends the stamps of the files it read, for rotation (`_cache`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import ssl
import sys
from collections.abc import Iterable

from ._config import SYSTEM_CAS, TLSConfig, _TrustStore
from ._files import FileStamp, crypto_errors, read_file, stamp
from ._memfile import in_memory_file
from .errors import CertificateFileError

__all__ = ["load_crls", "load_trust"]

log = logging.getLogger("securesession")

_CERT_BEGIN, _CERT_END = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"
_CRL_BEGIN, _CRL_END = b"-----BEGIN X509 CRL-----", b"-----END X509 CRL-----"


def pem_blocks(data: bytes, begin: bytes, end: bytes) -> list[bytes]:
    """The complete ``begin``...``end`` blocks of ``data``, in linear time.

    A regular expression with a lazy ``.+?`` rescans to the end of the data for
    every BEGIN that has no END: quadratic on hostile input (256 KiB of BEGIN
    lines took 21 s). Here each byte is looked at a bounded number of times.
    """
    blocks: list[bytes] = []
    pos = 0
    while True:
        start = data.find(begin, pos)
        if start < 0:
            return blocks
        stop = data.find(end, start + len(begin))
        if stop < 0:
            return blocks  # no END after this BEGIN: no later block is complete either
        start = data.rfind(begin, start, stop)  # an unterminated BEGIN before it: skip it
        blocks.append(data[start : stop + len(end)])
        pos = stop + len(end)


def _pem_blocks(data: bytes) -> str:
    """Return only the CERTIFICATE blocks of PEM data, as the ASCII `cadata` wants.

    Real bundles carry comments (sometimes non-ASCII issuer names) and other
    blocks around the certificates; OpenSSL needs none of them.
    """
    return "\n".join(b.decode("ascii") for b in pem_blocks(data, _CERT_BEGIN, _CERT_END))


def add_cert_data(ctx: ssl.SSLContext, data: bytes, origin: str) -> int:
    """Load PEM or DER certificates from ``data``; return how many blocks were found."""
    if b"-----BEGIN" in data:
        try:
            pem = _pem_blocks(data)
        except UnicodeDecodeError as exc:  # base64 is ASCII: anything else is corruption
            msg = f"ca_bundle: {origin} holds a malformed PEM certificate (non-ASCII bytes)"
            raise CertificateFileError(msg) from exc
        if not pem:
            return 0
        try:
            ctx.load_verify_locations(cadata=pem)
        except (ssl.SSLError, ValueError) as exc:
            msg = f"ca_bundle: {origin} holds a malformed PEM certificate: {exc}"
            raise CertificateFileError(msg) from exc
        return pem.count("-----BEGIN CERTIFICATE-----")
    # OpenSSL stops quietly at DER bytes it cannot read after a good certificate:
    # every byte must belong to a certificate, or the bundle is not what it seems.
    certificates = _der_certificates(data, origin)
    try:
        ctx.load_verify_locations(cadata=data)
    except (ssl.SSLError, ValueError) as exc:
        msg = f"ca_bundle: {origin} is neither PEM nor valid DER certificate data: {exc}"
        raise CertificateFileError(msg) from exc
    return certificates


def _der_certificates(data: bytes, origin: str) -> int:
    """Check that ``data`` is one or more whole DER certificates; return how many."""
    from cryptography import x509

    pos, count = 0, 0
    while pos < len(data):
        end = _der_end(data, pos)
        if end is None:
            msg = f"ca_bundle: {origin} is neither PEM nor DER certificate data"
            raise CertificateFileError(msg)
        with crypto_errors(f"ca_bundle: {origin} holds malformed DER certificate data"):
            x509.load_der_x509_certificate(data[pos:end])
        pos, count = end, count + 1
    if count == 0:
        msg = f"ca_bundle: {origin} is empty"
        raise CertificateFileError(msg)
    return count


def _der_end(data: bytes, pos: int) -> int | None:
    """Where the DER SEQUENCE starting at ``pos`` ends, or None if it is not one."""
    if data[pos] != 0x30 or pos + 2 > len(data):
        return None
    first = data[pos + 1]
    if first < 0x80:
        length, header = first, 2
    else:
        size = first & 0x7F
        if not 0 < size <= 4 or pos + 2 + size > len(data):
            return None
        length, header = int.from_bytes(data[pos + 2 : pos + 2 + size], "big"), 2 + size
    end = pos + header + length
    return end if end <= len(data) else None


def _load_file(ctx: ssl.SSLContext, path: str, stamps: list[FileStamp]) -> None:
    """Load the certificates of one file (PEM or DER) and record its stamp."""
    data, file_stamp = read_file(path, "ca_bundle")
    stamps.append(file_stamp)
    if add_cert_data(ctx, data, path) == 0:
        msg = f"ca_bundle: {path} holds no PEM certificate ('-----BEGIN CERTIFICATE-----')"
        raise CertificateFileError(msg)


def _load_directory(ctx: ssl.SSLContext, path: str, stamps: list[FileStamp]) -> None:
    """Load every certificate file of a directory (like Go; no c_rehash needed).

    Files that hold no certificate are skipped, as OpenSSL-style directories
    mix certificates with other files; a directory with none at all is an error.
    """
    dir_stamp = stamp(path)
    if dir_stamp is None:
        msg = f"ca_bundle: cannot read directory {path}"
        raise CertificateFileError(msg)
    stamps.append(dir_stamp)  # entries added, removed or renamed change its mtime
    found = 0
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        msg = f"ca_bundle: cannot read directory {path}: {exc.strerror or exc}"
        raise CertificateFileError(msg) from exc
    for entry in entries:
        try:
            if not entry.is_file():  # FIFOs, sockets and devices are skipped, not opened
                continue
        except OSError:
            continue
        try:
            _load_file(ctx, entry.path, stamps)
            found += 1
        except CertificateFileError as exc:
            # Stamped all the same: completing it in place would not touch the directory.
            stamps.extend(s for s in [stamp(entry.path)] if s is not None)
            log.debug("ca_bundle: skipping %s in %s: %s", entry.name, path, exc)
    if found == 0:
        msg = f"ca_bundle: directory {path} holds no certificate file"
        raise CertificateFileError(msg)


def _load_system(ctx: ssl.SSLContext, stamps: list[FileStamp]) -> None:
    if sys.platform == "win32":  # pragma: no cover - Windows keeps roots in its registry store
        ctx.load_default_certs()
        return
    # OpenSSL's compiled-in locations, not set_default_verify_paths(): that one
    # honours SSL_CERT_FILE/SSL_CERT_DIR, whose precedence SecureSession decides.
    paths = ssl.get_default_verify_paths()
    loaded = False
    if paths.openssl_cafile and os.path.isfile(paths.openssl_cafile):
        _load_file(ctx, paths.openssl_cafile, stamps)
        loaded = True
    if paths.openssl_capath and os.path.isdir(paths.openssl_capath):
        # A hashed directory: OpenSSL looks certificates up in it by subject hash.
        ctx.load_verify_locations(capath=paths.openssl_capath)
        stamps.extend(s for s in [stamp(paths.openssl_capath)] if s is not None)
        loaded = True
    if not loaded:
        msg = (
            "ca_bundle: SYSTEM_CAS found no system trust store "
            f"(looked at {paths.openssl_cafile} and {paths.openssl_capath})"
        )
        raise CertificateFileError(msg)


def load_trust(ctx: ssl.SSLContext, tls: TLSConfig, stamps: list[FileStamp]) -> None:
    """Load every trust source of ``tls`` into ``ctx``, appending the stamps of the files read."""
    sources: Iterable[str | bytes | _TrustStore] = tls._trust_sources or (_TrustStore.DEFAULT,)
    for source in sources:
        if source is SYSTEM_CAS:
            _load_system(ctx, stamps)
        elif isinstance(source, _TrustStore):
            import certifi  # only when certifi's bundle is asked for

            _load_file(ctx, certifi.where(), stamps)
        elif isinstance(source, bytes):
            if add_cert_data(ctx, source, "in-memory data") == 0:
                msg = "ca_bundle: in-memory data hold no certificate"
                raise CertificateFileError(msg)
        elif os.path.isdir(source):
            _load_directory(ctx, source, stamps)
        else:
            _load_file(ctx, source, stamps)


def load_crls(
    ctx: ssl.SSLContext, sources: tuple[str | bytes, ...], stamps: list[FileStamp]
) -> bytes:
    """Load CRLs and check the leaf against them (VERIFY_CRL_CHECK_LEAF).

    Returns a digest of the CRLs loaded (rotation compares them). Leaf only, by
    choice: checking the whole chain (VERIFY_CRL_CHECK_CHAIN) needs
    a current CRL from every CA up to the root, which private PKIs rarely publish,
    and a missing one fails every handshake.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    pems: list[bytes] = []
    for source in sources:
        if isinstance(source, str):
            data, file_stamp = read_file(source, "crl")
            stamps.append(file_stamp)
            origin = source
        else:
            data, origin = source, f"<{len(source)} bytes>"
        with crypto_errors(f"crl: {origin} holds a malformed CRL"):
            if _CRL_BEGIN in data:
                crls = [x509.load_pem_x509_crl(b) for b in pem_blocks(data, _CRL_BEGIN, _CRL_END)]
            else:
                crls = [x509.load_der_x509_crl(data)]
            if not crls:
                msg = f"crl: {origin} holds no complete PEM CRL ('{_CRL_END.decode()}' missing)"
                raise CertificateFileError(msg)
            pems.extend(crl.public_bytes(Encoding.PEM) for crl in crls)
    # OpenSSL takes CRLs only from a file; CRLs are public, the file is just transport.
    with in_memory_file(b"".join(pems), "securesession-crl") as path:
        try:
            ctx.load_verify_locations(cafile=path)
        except ssl.SSLError as exc:  # cryptography parsed what OpenSSL refuses
            msg = f"crl: OpenSSL refused the CRLs: {exc.reason or exc}"
            raise CertificateFileError(msg) from exc
    ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return hashlib.sha256(b"".join(pems)).digest()
