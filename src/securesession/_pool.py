"""urllib3 connection and pool classes that capture TLSInfo at connection time.

A connection records what it negotiated right after its handshake, on itself,
because http.client drops the socket of a ``Connection: close`` response before
requests builds its Response. The same hook warns about soon-expiring server
certificates and logs the posture of every new connection at DEBUG. (Pins are
checked earlier, inside the handshake: see `_context`.)
"""

from __future__ import annotations

import datetime
import logging
from typing import TYPE_CHECKING, Any

from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ._resume import remember
from ._threadstate import connecting_to

if TYPE_CHECKING:
    from ._tlsinfo import TLSInfo

__all__ = ["POOL_CLASSES", "tls_of"]

log = logging.getLogger("securesession")

_expiry_warned: set[tuple[str, datetime.datetime]] = set()


def _after_handshake(conn: HTTPSConnection) -> TLSInfo | None:
    from ._tlsinfo import tls_info  # at the first connection, not at import

    sock: Any = conn.sock
    tls = getattr(conn.ssl_context, "_securesession_tls", None)
    info = tls_info(sock)
    if info is None:
        return None
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "new TLS connection to %s:%s: %s %s, server %s, resumed=%s, posture %r",
            conn.host,
            conn.port,
            info.version,
            info.cipher,
            info.subject,
            info.session_reused,
            tls,
        )
    days = tls.warn_expiry_days if tls is not None else None
    if days is not None:
        left = info.not_after - datetime.datetime.now(datetime.timezone.utc)
        key = (info.subject, info.not_after)
        if left <= datetime.timedelta(days=days) and key not in _expiry_warned:
            _expiry_warned.add(key)  # once per certificate and process
            log.warning(
                "the certificate of %s:%s (%s) expires in %d day(s), on %s",
                conn.host,
                conn.port,
                info.subject,
                max(left.days, 0),
                f"{info.not_after:%Y-%m-%d %H:%M} UTC",
            )
    return info


class _HTTPSConnection(HTTPSConnection):
    securesession_tls: TLSInfo | None = None
    _session_saved = False

    def connect(self) -> None:
        self.securesession_tls = None
        self._session_saved = False
        # Through a CONNECT tunnel, self.port is the proxy's; the tunnel port is the origin's.
        with connecting_to(getattr(self, "_tunnel_port", None) or self.port):
            super().connect()
        self.securesession_tls = _after_handshake(self)

    def getresponse(self) -> Any:  # urllib3's, plus remembering the TLS session
        response = super().getresponse()
        self._remember_session()
        return response

    def close(self) -> None:  # http.client closes here on "Connection: close"
        self._remember_session()
        super().close()

    def _remember_session(self) -> None:
        # Once per connection, once a response has been read (or the connection is
        # closed): TLS 1.3 tickets arrive after the handshake; remember() keeps only
        # sessions that can be resumed.
        if not self._session_saved and self.sock is not None and self.securesession_tls:
            self._session_saved = True
            remember(self.sock)


class _HTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


POOL_CLASSES: dict[str, type[HTTPConnectionPool]] = {
    "http": HTTPConnectionPool,
    "https": _HTTPSConnectionPool,
}


def tls_of(urllib3_response: Any) -> TLSInfo | None:
    """The TLSInfo of the connection a urllib3 response came on, or None (http)."""
    conn = getattr(urllib3_response, "connection", None)
    info: TLSInfo | None = getattr(conn, "securesession_tls", None)
    if info is None and conn is not None:  # a connection class we do not own (SOCKS)
        sock = getattr(conn, "sock", None)
        if sock is not None and hasattr(sock, "cipher"):
            from ._tlsinfo import tls_info

            info = tls_info(sock)
    return info
