"""Per-thread counts of TLS handshakes started and completed.

urllib3 makes connections in the calling thread, so comparing the counts before
and after a failed request tells whether it failed in a handshake (started but
not completed) or right after a new one (completed): the exceptions themselves do
not say which connection they came from.
"""

from __future__ import annotations

import threading

__all__ = ["completed", "note_completed", "note_started", "started"]

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
