"""TLS session resumption: reuse a server's session ticket on the next connection.

A resumed handshake skips the certificate exchange and its verification, which
makes new connections markedly cheaper. It is safe here because the cache lives
on the context, and a context stands for one whole posture (trust, versions,
client identity, pins, CRL): a session is only ever offered again under the very
posture that verified it, to the same server name and port. A rotated file builds
a new context, hence a new, empty cache. Pins are still checked on resumed
connections (the session carries the server's certificate).
"""

from __future__ import annotations

import collections
import ssl
import threading
from typing import Any

__all__ = ["SessionCache", "remember"]

_MAX_SESSIONS = 256  # per context: (server name, port) pairs remembered, least recent dropped

SessionKey = tuple[str, int]


class SessionCache:
    """A bounded, thread-safe map from (server name, port) to the latest `ssl.SSLSession`."""

    def __init__(self, maxsize: int = _MAX_SESSIONS) -> None:
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._sessions: collections.OrderedDict[SessionKey, ssl.SSLSession] = (
            collections.OrderedDict()
        )

    def get(self, key: SessionKey) -> ssl.SSLSession | None:
        """The session to offer to ``key``, if any."""
        with self._lock:
            session = self._sessions.get(key)
            if session is not None:
                self._sessions.move_to_end(key)
            return session

    def put(self, key: SessionKey, session: ssl.SSLSession) -> None:
        """Remember ``session`` for ``key`` (replacing an older one)."""
        with self._lock:
            self._sessions[key] = session
            self._sessions.move_to_end(key)
            while len(self._sessions) > self._maxsize:
                self._sessions.popitem(last=False)

    def __len__(self) -> int:
        return len(self._sessions)


def session_key(server_hostname: str | None, port: int | None) -> SessionKey | None:
    """The cache key of a client connection about to handshake: (SNI name, origin port)."""
    if not server_hostname or port is None:
        return None
    return (server_hostname, port)


def remember(sock: Any) -> None:
    """Store the session of ``sock`` in its context's cache (call after reading a response).

    TLS 1.3 servers send their tickets after the handshake; by the time a response
    has been read, the client has processed them, so the session is resumable.
    Only full handshakes store: reading a session costs CPython a serialization
    round trip (~0.5 ms), and a resumed connection's cached session is still
    good. A server that stops accepting it gets a full handshake, which stores anew.
    """
    key = getattr(sock, "_securesession_session_key", None)
    cache = getattr(getattr(sock, "context", None), "_securesession_sessions", None)
    if key is None or cache is None or sock.session_reused:
        return
    session = sock.session
    if session is None:
        return
    # TLS 1.3 resumes only from a ticket; TLS 1.2 also from a session ID.
    resumable = session.has_ticket or (bool(session.id) and sock.version() != "TLSv1.3")
    if resumable:
        cache.put(key, session)
