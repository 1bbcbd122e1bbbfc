"""The sealed context: an `ssl.SSLContext` that nobody can change once it is built.

Why read-only contexts: a shared context that anyone may mutate is a shared
security hole (requests' ``cert_verify`` would load certifi's roots into it,
silently widening a private-CA-only trust). `_SealedSSLContext` refuses every
change to trust, identity, versions and verification once built, and checks
the configured SPKI pins inside the handshake of every connection it makes.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from ._resume import SessionCache, session_key
from ._threadstate import note_completed, note_started, origin_port

if TYPE_CHECKING:
    from ._config import TLSConfig

__all__ = ["SealedSSLContext"]


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


class SealedSSLContext(ssl.SSLContext):
    """An `ssl.SSLContext` that refuses changes to its security posture once sealed.

    urllib3 re-assigns ``verify_mode`` and ``check_hostname`` with the values the
    context already has and sets ALPN on every connection; those stay allowed.
    Anything that would change what is trusted or presented raises.
    """

    _sealed = False
    _securesession_tls: TLSConfig | None = None  # the posture this context was built for
    _securesession_sessions: SessionCache | None = None  # None: resumption off
    # Set by the cache when a trust source of this context no longer loads: trust
    # fails closed for whoever holds this object too (httpx, urllib3 users).
    _securesession_failure: Exception | None = None
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
        failure = self._securesession_failure
        if failure is not None and not server_side:
            raise failure
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

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        """Wrap as `ssl.SSLContext` does, unless trust no longer loads (fails closed)."""
        failure = self._securesession_failure
        server_side = kwargs.get("server_side", args[2] if len(args) > 2 else False)
        if failure is not None and not server_side:
            raise failure
        return super().wrap_bio(*args, **kwargs)

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
