"""Per-thread facts about the TLS connections a thread is making.

urllib3 makes connections in the calling thread, so comparing the counts before
and after a failed request tells whether it failed in a handshake (started but
not completed) or right after a new one (completed): the exceptions themselves do
not say which connection they came from. The origin port tells session resumption
which server a handshake is for, even through a CONNECT proxy.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

__all__ = ["completed", "connecting_to", "note_completed", "note_started", "origin_port", "started"]

_local = threading.local()


def started() -> int:
    """Client handshakes this thread has begun."""
    count: int = getattr(_local, "started", 0)
    return count


def completed() -> int:
    """Client handshakes this thread has finished (and captured `TLSInfo` for)."""
    count: int = getattr(_local, "completed", 0)
    return count


def note_started() -> None:
    """Count a handshake about to begin."""
    _local.started = started() + 1


def note_completed() -> None:
    """Count a finished handshake."""
    _local.completed = completed() + 1


def origin_port() -> int | None:
    """The origin's port of the connection this thread is making, if our pool said so."""
    port: int | None = getattr(_local, "origin_port", None)
    return port


@contextlib.contextmanager
def connecting_to(port: int | None) -> Iterator[None]:
    """Tell handshakes in this block which origin port they are for (see `_resume`)."""
    previous = origin_port()
    _local.origin_port = port
    try:
        yield
    finally:
        _local.origin_port = previous
