"""build_ssl_context: one pure builder, plus the process-wide context cache.

Why a cache: requests loads a CA bundle into a fresh context for every new
connection (~45 ms for certifi's 146 roots). Here a context is built once per
distinct `TLSConfig` and shared by every session, adapter and thread that uses an
equal configuration. Files are read only when a context is (re)built; a cheap
``stat`` at most once per `RECHECK_INTERVAL` notices rotated files.

Why read-only contexts: a shared context that anyone may mutate is a shared
security hole (requests' ``cert_verify`` would load certifi's roots into it,
silently widening a private-CA-only trust). `_SealedSSLContext` refuses every
change to trust, identity, versions and verification once built.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import re
import ssl
import sys
import threading
import time
import warnings
from collections.abc import Iterable
from typing import Any

from ._config import SYSTEM_CAS, ClientCert, TLSConfig, _TrustStore
from ._memfile import in_memory_file
from ._resume import SessionCache, session_key
from ._threadstate import note_completed, note_started, origin_port
from .errors import CertificateExpiresSoonWarning, CertificateFileError, TLSConfigError

__all__ = ["RECHECK_INTERVAL", "build_ssl_context"]

log = logging.getLogger("securesession")

RECHECK_INTERVAL = 1.0
"""Seconds between two checks of a cached context's files for rotation.

A change is loaded once the files have held still for one interval, so rotated
files are in use within about two intervals after their last write."""

_MAX_CONTEXTS = 128  # distinct configurations kept; the least recently built go first

_PEM_CERT_RE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)
_CRL_RE = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", re.DOTALL)

# (path, st_mtime_ns, st_ctime_ns, st_size, st_ino): what must stay equal for a file
# not to be re-read (ctime catches a chmod that makes a rotated file readable).
_FileStamp = tuple[str, int, int, int, int]
_RETRY_FAILED = 30.0  # seconds before a reload that failed is tried again on unchanged files


def _check_pins_after_handshake(conn: ssl.SSLSocket | ssl.SSLObject) -> None:
    tls = getattr(conn.context, "_securesession_tls", None)
    if tls is not None and tls.pins:
        from ._tlsinfo import check_pins

        check_pins(conn, tls.pins)


class _PinnedSSLSocket(ssl.SSLSocket):
    """Checks the SPKI pins right after the handshake, before the caller sends a byte."""

    def do_handshake(self, block: bool = False) -> None:  # stdlib's
        super().do_handshake(block)
        if not self.server_side:
            note_completed()
        _check_pins_after_handshake(self)


class _PinnedSSLObject(ssl.SSLObject):
    """The same for memory-BIO connections (asyncio, urllib3's TLS-in-TLS)."""

    def do_handshake(self) -> None:
        super().do_handshake()
        _check_pins_after_handshake(self)


class _SealedSSLContext(ssl.SSLContext):
    """An `ssl.SSLContext` that refuses changes to its security posture once sealed.

    urllib3 re-assigns ``verify_mode`` and ``check_hostname`` with the values the
    context already has and sets ALPN on every connection; those stay allowed.
    Anything that would change what is trusted or presented raises.
    """

    _sealed = False
    _securesession_tls: TLSConfig | None = None  # the posture this context was built for
    _securesession_sessions: SessionCache | None = None  # None: resumption off
    # Pins are checked in the handshake itself, so every user of the context gets
    # them: urllib3, httpx, asyncio (memory BIOs) and plain sockets alike.
    sslsocket_class = _PinnedSSLSocket
    sslobject_class = _PinnedSSLObject

    def _seal(self) -> None:
        self._sealed = True

    def wrap_socket(  # type: ignore[override]  # same parameters, spelled out
        self,
        sock: Any,
        server_side: bool = False,  # stdlib signature
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        """Wrap as `ssl.SSLContext` does, offering a cached TLS session to resume."""
        if not server_side:
            note_started()
        cache = self._securesession_sessions
        # Resumption only for connections our pool makes: it tells the origin's port,
        # which a socket behind a CONNECT proxy cannot (its peer is the proxy).
        port = origin_port() if cache is not None and not server_side else None
        key = session_key(server_hostname, port)
        if key is not None and session is None:
            session = cache.get(key)  # type: ignore[union-attr]  # key implies cache
        wrapped = super().wrap_socket(
            sock,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname,
            session=session,
        )
        wrapped._securesession_session_key = key  # type: ignore[attr-defined]  # for remember()
        return wrapped

    def _refuse(self, what: str) -> None:
        if self._sealed:
            msg = (
                f"securesession contexts are shared and read-only: {what} is refused. "
                "Build a different TLSConfig instead (e.g. tls.replace(...))."
            )
            raise RuntimeError(msg)

    def load_verify_locations(self, *args: Any, **kwargs: Any) -> None:
        self._refuse("load_verify_locations()")
        super().load_verify_locations(*args, **kwargs)

    def load_default_certs(self, *args: Any, **kwargs: Any) -> None:
        self._refuse("load_default_certs()")
        super().load_default_certs(*args, **kwargs)

    def set_default_verify_paths(self) -> None:
        self._refuse("set_default_verify_paths()")
        super().set_default_verify_paths()

    def load_cert_chain(self, *args: Any, **kwargs: Any) -> None:
        self._refuse("load_cert_chain()")
        super().load_cert_chain(*args, **kwargs)

    def set_ciphers(self, ciphers: str, /) -> None:
        self._refuse("set_ciphers()")
        super().set_ciphers(ciphers)

    def __setattr__(self, name: str, value: Any) -> None:
        # Properties of ssl.SSLContext go through __setattr__ like any attribute;
        # an assignment that keeps the current value is a no-op and stays allowed.
        if self._sealed and name in _GUARDED_ATTRIBUTES and getattr(self, name) != value:
            self._refuse(f"setting {name}")
        super().__setattr__(name, value)


_GUARDED_ATTRIBUTES = frozenset(
    {
        "verify_mode",
        "check_hostname",
        "minimum_version",
        "maximum_version",
        "options",
        "verify_flags",
        "hostname_checks_common_name",
        "keylog_filename",
        "post_handshake_auth",
        "sni_callback",
        "sslsocket_class",
        "sslobject_class",
    }
)


def _pem_blocks(data: bytes) -> str:
    """Return only the CERTIFICATE blocks of PEM data, as the ASCII `cadata` wants.

    Real bundles carry comments (sometimes non-ASCII issuer names) and other
    blocks around the certificates; OpenSSL needs none of them.
    """
    return "\n".join(m.group(0).decode("ascii") for m in _PEM_CERT_RE.finditer(data))


def _read_stamped(path: str, field: str = "ca_bundle") -> tuple[bytes, _FileStamp]:
    """Read a file and stat the same descriptor, so content and stamp agree."""
    try:
        with open(path, "rb") as f:
            data = f.read()
            st = os.fstat(f.fileno())
    except OSError as exc:
        msg = f"{field}: cannot read {path}: {exc.strerror or exc}"
        raise CertificateFileError(msg) from exc
    return data, (path, st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


def _stamp(path: str) -> _FileStamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (path, st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


def _add_cert_data(ctx: ssl.SSLContext, data: bytes, origin: str) -> int:
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
    try:
        ctx.load_verify_locations(cadata=data)
    except (ssl.SSLError, ValueError) as exc:
        msg = f"ca_bundle: {origin} is neither PEM nor valid DER certificate data: {exc}"
        raise CertificateFileError(msg) from exc
    return 1


def _load_file(ctx: ssl.SSLContext, path: str, stamps: list[_FileStamp]) -> None:
    """Load the certificates of one file (PEM or DER) and record its stamp.

    PEM goes to OpenSSL by path: no Python copy of a certifi-sized bundle is made
    (it would stay in the process's memory as fragmentation). The file is stamped
    before and after; one that changed in between was caught mid-write and is an
    error, so a rotation is retried at the next interval instead of half-loaded.
    """
    before = _stamp(path)
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        msg = f"ca_bundle: cannot read {path}: {exc.strerror or exc}"
        raise CertificateFileError(msg) from exc
    if b"-----BEGIN" not in head and head[:1] == b"\x30":  # DER: OpenSSL reads PEM files only
        data, stamp = _read_stamped(path)
        stamps.append(stamp)
        _add_cert_data(ctx, data, path)
        return
    try:
        ctx.load_verify_locations(cafile=path)
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        msg = f"ca_bundle: {path} holds no usable PEM certificate ({reason})"
        raise CertificateFileError(msg) from exc
    if before is None or _stamp(path) != before:
        msg = f"ca_bundle: {path} changed while it was being read"
        raise CertificateFileError(msg)
    stamps.append(before)


def _load_directory(ctx: ssl.SSLContext, path: str, stamps: list[_FileStamp]) -> None:
    """Load every certificate file of a directory (like Go; no c_rehash needed).

    Files that hold no certificate are skipped, as OpenSSL-style directories
    mix certificates with other files; a directory with none at all is an error.
    """
    dir_stamp = _stamp(path)
    if dir_stamp is None:
        msg = f"ca_bundle: cannot read directory {path}"
        raise CertificateFileError(msg)
    stamps.append(dir_stamp)  # entries added, removed or renamed change its mtime
    found = 0
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        try:
            if not entry.is_file():
                continue
        except OSError:
            continue
        try:
            _load_file(ctx, entry.path, stamps)
            found += 1
        except CertificateFileError as exc:
            # Stamped all the same: completing it in place would not touch the directory.
            stamps.extend(s for s in [_stamp(entry.path)] if s is not None)
            log.debug("ca_bundle: skipping %s in %s: %s", entry.name, path, exc)
    if found == 0:
        msg = f"ca_bundle: directory {path} holds no certificate file"
        raise CertificateFileError(msg)


def _load_system(ctx: ssl.SSLContext, stamps: list[_FileStamp]) -> None:
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
        stamps.extend(s for s in [_stamp(paths.openssl_capath)] if s is not None)
        loaded = True
    if not loaded:
        msg = (
            "ca_bundle: SYSTEM_CAS found no system trust store "
            f"(looked at {paths.openssl_cafile} and {paths.openssl_capath})"
        )
        raise CertificateFileError(msg)


def _load_trust(ctx: ssl.SSLContext, tls: TLSConfig, stamps: list[_FileStamp]) -> None:
    sources: Iterable[str | bytes | _TrustStore] = tls._trust_sources or (_TrustStore.DEFAULT,)
    for source in sources:
        if source is SYSTEM_CAS:
            _load_system(ctx, stamps)
        elif isinstance(source, _TrustStore):
            import certifi  # only when certifi's bundle is asked for

            _load_file(ctx, certifi.where(), stamps)
        elif isinstance(source, bytes):
            if _add_cert_data(ctx, source, "in-memory data") == 0:
                msg = "ca_bundle: in-memory data hold no certificate"
                raise CertificateFileError(msg)
        elif os.path.isdir(source):
            _load_directory(ctx, source, stamps)
        else:
            _load_file(ctx, source, stamps)


_warned_expiry: set[tuple[str, datetime.datetime]] = set()


def _warn_if_expiring(subject: str, not_after: datetime.datetime, days: int | None) -> None:
    """Warn once per certificate and process when it expires within ``days``."""
    if days is None:
        return
    left = not_after - datetime.datetime.now(datetime.timezone.utc)
    key = (subject, not_after)
    if left > datetime.timedelta(days=days) or key in _warned_expiry:
        return
    _warned_expiry.add(key)
    msg = (
        f"client certificate {subject} expires in {max(left.days, 0)} day(s), on "
        f"{not_after:%Y-%m-%d %H:%M} UTC; renew it"
    )
    log.warning(msg)
    warnings.warn(msg, CertificateExpiresSoonWarning, stacklevel=2)


def _load_identity(
    ctx: ssl.SSLContext, tls: TLSConfig, cert: ClientCert, stamps: list[_FileStamp]
) -> None:
    from ._identity import load_into_context, read_identity

    for path in (cert.cert, cert.key):
        if isinstance(path, str):
            stamp = _stamp(path)
            if stamp is not None:
                stamps.append(stamp)
    # Read again rather than trust what ClientCert saw: files rotate.
    identity = read_identity(*cert._sources(), cert.password)
    load_into_context(ctx, identity)
    leaf = identity.leaf  # the file's current certificate, after any rotation
    _warn_if_expiring(leaf.subject.rfc4514_string(), leaf.not_valid_after_utc, tls.warn_expiry_days)


def _load_crls(
    ctx: ssl.SSLContext, sources: tuple[str | bytes, ...], stamps: list[_FileStamp]
) -> None:
    """Load CRLs and check the leaf against them (VERIFY_CRL_CHECK_LEAF).

    Leaf only, by choice: checking the whole chain (VERIFY_CRL_CHECK_CHAIN) needs
    a current CRL from every CA up to the root, which private PKIs rarely publish,
    and a missing one fails every handshake.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    pems: list[bytes] = []
    for source in sources:
        if isinstance(source, str):
            data, stamp = _read_stamped(source, field="crl")
            stamps.append(stamp)
            origin = source
        else:
            data, origin = source, f"<{len(source)} bytes>"
        try:
            if b"-----BEGIN X509 CRL-----" in data:
                crls = [x509.load_pem_x509_crl(b) for b in _CRL_RE.findall(data)]
            else:
                crls = [x509.load_der_x509_crl(data)]
        except ValueError as exc:
            msg = f"crl: {origin} holds a malformed CRL"
            raise CertificateFileError(msg) from exc
        pems.extend(crl.public_bytes(Encoding.PEM) for crl in crls)
    # OpenSSL takes CRLs only from a file; CRLs are public, the file is just transport.
    with in_memory_file(b"".join(pems), "securesession-crl") as path:
        ctx.load_verify_locations(cafile=path)
    ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF


_keylog_warned: set[str] = set()


def _enable_keylog(ctx: ssl.SSLContext, path: str) -> None:
    try:
        ctx.keylog_filename = path
    except OSError as exc:
        msg = f"keylog_file: cannot write {path}: {exc.strerror or exc}"
        raise TLSConfigError(msg) from exc
    if path not in _keylog_warned:  # once per file and process: it is loud on purpose
        _keylog_warned.add(path)
        log.warning("TLS key logging is ON: session secrets are written to %s", path)


def _build(tls: TLSConfig) -> tuple[_SealedSSLContext, tuple[_FileStamp, ...]]:
    """Build a sealed context for ``tls``; return it with the stamps of the files read."""
    # PROTOCOL_TLS_CLIENT starts secure: CERT_REQUIRED, check_hostname on,
    # SSLv2/SSLv3 and TLS compression (CRIME) off, Python's vetted cipher list.
    ctx = _SealedSSLContext(ssl.PROTOCOL_TLS_CLIENT)
    stamps: list[_FileStamp] = []
    # TLS 1.0/1.1 are deprecated (RFC 8996); TLSConfig never goes below 1.2.
    ctx.minimum_version = tls.minimum_version  # type: ignore[assignment]  # normalized by TLSConfig
    if tls.maximum_version is not None:
        ctx.maximum_version = tls.maximum_version  # type: ignore[assignment]  # normalized by TLSConfig
    # RFC 6125: names come from subjectAltName only; browsers dropped the CN fallback.
    ctx.hostname_checks_common_name = False
    # Trust an intermediate that the user put in the bundle as an anchor, like curl
    # and Python 3.13's defaults; a chain must still end at something configured.
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    if tls.ciphers is not None:
        ctx.set_ciphers(tls.ciphers)
    # urllib3 speaks HTTP/1.1 only and sets this again on every connection.
    ctx.set_alpn_protocols(["http/1.1"])
    if tls.verify:
        _load_trust(ctx, tls, stamps)
        if not tls.check_hostname:
            ctx.check_hostname = False  # explicit user request; the chain is still verified
    else:
        # Explicit user request (TLSConfig(verify=False) or verify=False per request).
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        log.warning("building a TLS context with certificate verification DISABLED")
    if tls.crl is not None and tls.verify:
        _load_crls(ctx, tls.crl, stamps)  # type: ignore[arg-type]  # normalized to a tuple
    if tls.client_cert is not None:
        _load_identity(ctx, tls, tls.client_cert, stamps)  # type: ignore[arg-type]  # normalized
    if tls.keylog_file:
        _enable_keylog(ctx, tls.keylog_file)  # type: ignore[arg-type]  # normalized to str
    ctx._securesession_tls = tls
    if tls.resume_sessions:
        ctx._securesession_sessions = SessionCache()
    ctx._seal()
    log.debug(
        "built TLS context: trust=%s versions=%s..%s verify=%s check_hostname=%s files=%d",
        _describe_trust(tls),
        tls.minimum_version.name,  # type: ignore[union-attr]  # normalized by TLSConfig
        tls.maximum_version.name if tls.maximum_version else "max",  # type: ignore[union-attr]
        tls.verify,
        tls.check_hostname,
        len(stamps),
    )
    return ctx, tuple(stamps)


def _describe_trust(tls: TLSConfig) -> str:
    if not tls.verify:
        return "none (verify=False)"
    if tls.ca_bundle is None:
        return "certifi (default)"
    return ", ".join(
        f"<{len(s)} bytes>" if isinstance(s, bytes) else s if isinstance(s, str) else repr(s)
        for s in tls._trust_sources or ()
    )


@dataclasses.dataclass
class _Entry:
    context: _SealedSSLContext
    stamps: tuple[_FileStamp, ...]
    next_check: float
    # Stamps seen changed at the last check: a reload waits until they hold still
    # for one interval, so a file still being written is never loaded half-done.
    pending: tuple[_FileStamp | None, ...] | None = None
    failed: tuple[_FileStamp | None, ...] | None = None  # last state that did not load
    failed_at: float = 0.0


class _ContextCache:
    """Process-wide map from TLSConfig to its context; thread-safe, bounded."""

    def __init__(self, maxsize: int = _MAX_CONTEXTS) -> None:
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._entries: dict[TLSConfig, _Entry] = {}

    def get(self, tls: TLSConfig) -> ssl.SSLContext:
        entry = self._entries.get(tls)  # lock-free fast path: a dict read is atomic
        now = time.monotonic()
        if entry is not None and now < entry.next_check:
            return entry.context
        with self._lock:
            entry = self._entries.get(tls)
            if entry is None:
                context, stamps = _build(tls)
                if len(self._entries) >= self._maxsize:
                    del self._entries[next(iter(self._entries))]
                self._entries[tls] = _Entry(context, stamps, now + RECHECK_INTERVAL)
                return context
            if now >= entry.next_check:
                entry.next_check = now + RECHECK_INTERVAL
                current = tuple(_stamp(s[0]) for s in entry.stamps)
                if current == entry.stamps:
                    entry.pending = None
                elif current != entry.pending:
                    entry.pending = current  # changed: let writers finish first
                elif current != entry.failed or now - entry.failed_at >= _RETRY_FAILED:
                    # A new state, or an old failure worth another try (a password
                    # store that lagged behind the files, a permission fixed later).
                    self._rebuild(tls, entry, current, now)
            return entry.context

    @staticmethod
    def _rebuild(
        tls: TLSConfig, entry: _Entry, current: tuple[_FileStamp | None, ...], now: float
    ) -> None:
        try:
            entry.context, entry.stamps = _build(tls)
        except Exception as exc:  # whatever broke, the old context still works
            # A bad rotation (a file of the wrong kind, a key that does not match its
            # new certificate yet, a password callable that fails): keep serving the
            # last good context; try again when the files change, or later.
            entry.failed, entry.failed_at = current, now
            log.warning("keeping the previous TLS context: reloading failed: %s", exc)
        else:
            entry.pending = entry.failed = None
            log.info("reloaded TLS context after a file changed: %s", _describe_trust(tls))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_CACHE = _ContextCache()


def build_ssl_context(tls: TLSConfig) -> ssl.SSLContext:
    """Return the shared, read-only `ssl.SSLContext` for ``tls`` (same as `TLSConfig.ssl_context`).

    Args:
        tls: The configuration to build from.

    Returns:
        The cached context: the same object for equal configurations until one of
        its files changes.

    Raises:
        CertificateFileError: a CA file or directory holds no usable certificate.
        TLSConfigError: OpenSSL rejects the client certificate or key.
    """
    if not isinstance(tls, TLSConfig):
        msg = f"build_ssl_context() takes a TLSConfig, got {type(tls).__name__}"
        raise TypeError(msg)
    return _CACHE.get(tls)
