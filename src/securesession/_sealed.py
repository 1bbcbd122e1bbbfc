"""The sealed context: an `ssl.SSLContext` that nobody can change once it is built.

Why read-only contexts: a shared context that anyone may mutate is a shared
security hole (requests' ``cert_verify`` would load certifi's roots into it,
silently widening a private-CA-only trust; ``set_ecdh_curve()`` on a shared
context breaks every session's new connections). `SealedSSLContext` refuses,
once built, every call and every assignment that could change the context: each
name of `ssl.SSLContext` is classified below, and tests/test_seal.py fails for
a name a new Python adds until it is classified. It also checks the configured
SPKI pins inside the handshake of every connection it makes.

What the seal is not: a sandbox. Code that means to get around it (writing to
``ctx.__dict__``, calling ``_ssl._SSLContext``'s descriptors directly) can; the
seal stops the libraries and helpers that mutate a context they were handed.
"""

from __future__ import annotations

import functools
import ssl
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._resume import SessionCache, session_key
from ._threadstate import note_completed, note_started, origin_port

if TYPE_CHECKING:
    from ._config import TLSConfig

__all__ = [
    "GUARDED_ATTRIBUTES",
    "HARMLESS",
    "READ_ONLY_ATTRIBUTES",
    "REFUSED_METHODS",
    "SealedSSLContext",
    "set_failure",
]

# Every name of ssl.SSLContext on Python 3.10 to 3.13, classified. A name in none
# of these sets makes tests/test_seal.py fail: classify it before supporting a Python.

# Calls that change the context (trust, identity, ciphers, groups, ALPN, callbacks):
# refused once sealed. set_alpn_protocols() with the list the context already has
# is allowed (urllib3 sets ["http/1.1"] on every connection) and does nothing.
REFUSED_METHODS = frozenset(
    {
        "load_cert_chain",
        "load_default_certs",
        "load_dh_params",
        "load_verify_locations",
        "set_alpn_protocols",
        "set_ciphers",
        "set_default_verify_paths",
        "set_ecdh_curve",
        "set_npn_protocols",
        "set_psk_client_callback",  # 3.13
        "set_psk_server_callback",  # 3.13
        "set_servername_callback",
        "_load_windows_store_certs",  # what load_default_certs() calls on Windows
        "_set_alpn_protocols",  # the C setter behind set_alpn_protocols()
    }
)
# Settable properties: once sealed, an assignment must keep the current value
# (urllib3 re-assigns verify_mode and check_hostname on every connection); it
# then does nothing. Any other value is refused.
GUARDED_ATTRIBUTES = frozenset(
    {
        "check_hostname",
        "hostname_checks_common_name",
        "keylog_filename",
        "maximum_version",
        "minimum_version",
        "num_tickets",
        "options",
        "post_handshake_auth",
        "sni_callback",
        "sslobject_class",  # ours check the pins
        "sslsocket_class",
        "verify_flags",
        "verify_mode",
        "_host_flags",  # the C setter behind hostname_checks_common_name
        "_msg_callback",  # sees every handshake message
    }
)
# Read-only in ssl itself, or data nobody should replace; assignment is refused.
READ_ONLY_ATTRIBUTES = frozenset({"protocol", "security_level", "_windows_cert_stores"})
# Reading, making connections, and the object protocol: they change nothing.
# (__setattr__ and __delattr__ are the guards themselves.)
HARMLESS = frozenset(
    {
        "cert_store_stats",
        "get_ca_certs",
        "get_ciphers",
        "session_stats",
        "wrap_bio",
        "wrap_socket",
        "_encode_hostname",
        "_wrap_bio",  # the C factories wrap_socket()/wrap_bio() call
        "_wrap_socket",
        "__class__",
        "__delattr__",
        "__dict__",
        "__dir__",
        "__doc__",
        "__eq__",
        "__firstlineno__",  # 3.13
        "__format__",
        "__ge__",
        "__getattribute__",
        "__getstate__",  # 3.11
        "__gt__",
        "__hash__",
        "__init__",
        "__init_subclass__",
        "__le__",
        "__lt__",
        "__module__",
        "__ne__",
        "__new__",
        "__reduce__",
        "__reduce_ex__",
        "__repr__",
        "__setattr__",
        "__sizeof__",
        "__static_attributes__",  # 3.13
        "__str__",
        "__subclasshook__",
        "__weakref__",
    }
)
# Internal state that may change after sealing lives outside the object
# (`set_failure`), never in attributes, which anyone holding the context could write.
_SETTABLE_WHEN_SEALED: frozenset[str] = frozenset()
# Contexts whose trust no longer holds, and why: new client handshakes raise it.
_FAILURES: weakref.WeakKeyDictionary[SealedSSLContext, Exception] = weakref.WeakKeyDictionary()


def set_failure(ctx: SealedSSLContext, failure: Exception | None) -> None:
    """Make ``ctx`` refuse new client handshakes with ``failure`` (None: allow them again).

    The cache calls this when a trust source no longer loads, or was rotated away
    from under a context someone may still hold (httpx, urllib3 users).
    """
    if failure is None:
        _FAILURES.pop(ctx, None)
    else:
        _FAILURES[ctx] = failure


# Sealed contexts. Kept outside the objects, so that no attribute write unseals one.
_SEALED: weakref.WeakSet[SealedSSLContext] = weakref.WeakSet()


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
    """An `ssl.SSLContext` that refuses every change once sealed.

    urllib3 re-assigns ``verify_mode`` and ``check_hostname`` with the values the
    context already has and sets ALPN to the list it already has on every
    connection; those stay allowed and do nothing. Every other call that changes
    the context, and every other assignment or deletion of an attribute, raises.
    """

    _securesession_tls: TLSConfig | None = None  # the posture this context was built for
    _securesession_sessions: SessionCache | None = None  # None: resumption off
    _securesession_crls: bytes | None = None  # digest of the CRLs loaded, for rotation
    # Set by the cache when a trust source of this context no longer loads: trust
    # fails closed for whoever holds this object too (httpx, urllib3 users).
    _securesession_alpn: tuple[str, ...] | None = None  # what set_alpn_protocols() set
    # Pins are checked in the handshake itself, so every user of the context gets
    # them: urllib3, httpx, asyncio (memory BIOs) and plain sockets alike.
    sslsocket_class = _PinnedSSLSocket
    sslobject_class = _PinnedSSLObject

    @property
    def _sealed(self) -> bool:
        return self in _SEALED

    def _seal(self) -> None:
        _SEALED.add(self)

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
        failure = _FAILURES.get(self)
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
        failure = _FAILURES.get(self)
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

    def set_alpn_protocols(self, alpn_protocols: Iterable[str]) -> None:
        """Set ALPN before sealing; once sealed, only the list the context has (a no-op)."""
        protocols = tuple(alpn_protocols)
        if self._sealed:
            if protocols != self._securesession_alpn:
                self._refuse(
                    f"set_alpn_protocols({list(protocols)!r}) (this context offers "
                    f"{list(self._securesession_alpn or ())!r})"
                )
            return
        super().set_alpn_protocols(protocols)
        self._securesession_alpn = protocols

    def __setattr__(self, name: str, value: Any) -> None:
        # Properties of ssl.SSLContext go through __setattr__ like any attribute.
        if self._sealed and name not in _SETTABLE_WHEN_SEALED:
            if name not in GUARDED_ATTRIBUTES or getattr(self, name) != value:
                self._refuse(f"setting {name}")
            return  # keeps the current value: nothing to do
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        self._refuse(f"deleting {name}")
        super().__delattr__(name)


def _refusing(name: str) -> Callable[..., Any]:
    """A method that raises once the context is sealed, else calls ssl's ``name``."""
    original = getattr(ssl.SSLContext, name)

    @functools.wraps(original)
    def method(self: SealedSSLContext, /, *args: Any, **kwargs: Any) -> Any:
        self._refuse(f"{name}()")
        return original(self, *args, **kwargs)

    return method


# Only the names this Python has: hasattr(ctx, "set_psk_client_callback") must stay
# False where ssl lacks it.
for _name in sorted(REFUSED_METHODS - {"set_alpn_protocols"}):
    if hasattr(ssl.SSLContext, _name):
        setattr(SealedSSLContext, _name, _refusing(_name))
del _name
