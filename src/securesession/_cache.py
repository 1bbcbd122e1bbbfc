"""The process-wide context cache: one sealed context per configuration, rotated in place.

Three promises shape it (DESIGN.md, "Hard guarantees"):

* **No global lock around user code or I/O.** The cache-wide lock guards only
  dictionary updates. Each configuration has a lock of its own: a second thread
  asking for a configuration that is being built waits for that build only
  (single flight); a re-check or a reload is done by one thread while the others
  keep using the current context. A password callable that itself makes
  requests (a vault client) therefore never deadlocks; one that needs the very
  configuration it unlocks gets a `TLSConfigError` instead of recursion.
* **Rotation from the files' own times.** At most once per `RECHECK_INTERVAL`, a
  request stats the files a context was built from. A change whose last write
  (mtime or ctime) is at least one interval old is loaded at once, even after
  the process was idle for hours; a younger one is loaded as soon as it is.
  A trust source (CA file, directory, CRL) that no longer loads **fails
  closed**: until it loads again, `get` raises `CertificateFileError` naming
  it, and the old context refuses new handshakes for whoever holds it. A client
  identity that no longer loads keeps the last good one, with the current
  trust. Every failed reload logs at ERROR.
* **Bounded, without evicting what is in use.** Entries are found through a
  weak map; the most recently used `_MAX_CONTEXTS` are also held here, and every
  `TLSAdapter` holds the entries of its postures (`hold`). An entry in use is
  therefore never evicted, whatever the number of configurations, and an unused
  one is freed once it falls out of the recent set.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING

from . import _context
from ._files import FileStamp, stamp
from ._sealed import set_failure
from .errors import CertificateFileError, TLSConfigError

if TYPE_CHECKING:
    from ._config import TLSConfig
    from ._identity import Identity
    from ._sealed import SealedSSLContext

__all__ = ["CACHE", "RECHECK_INTERVAL"]

log = logging.getLogger("securesession")

RECHECK_INTERVAL = 1.0
"""Seconds between two checks of a context's files, and how long a change must
have held still (by its files' own mtimes) before it is loaded."""

_MAX_CONTEXTS = 128  # unused configurations kept, least recently used dropped first
_RETRY_FAILED = 30.0  # seconds before a failed reload is tried again on unchanged files
_MAX_UNSETTLED = 2  # intervals a change may keep changing before it is loaded anyway
_BUILD_WAIT = 60.0  # seconds a thread waits for another thread's first build of a config


class _Entry:
    """One configuration's context, its files' stamps, and the state of its reloads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # held by the one thread building or re-checking
        self.builder: int | None = None  # that thread, to refuse re-entrant first builds
        self.context: SealedSSLContext | None = None
        self.stamps: tuple[FileStamp, ...] = ()
        self.identity: Identity | None = None
        self.next_check = 0.0
        self.failure: Exception | None = None  # a trust source that no longer loads
        self.failed_state: tuple[FileStamp | None, ...] | None = None
        self.retry_at = 0.0
        self.unsettled_since: float | None = None  # when a change still being written was seen
        # Earlier contexts of this configuration that someone may still hold.
        self.previous: weakref.WeakSet[SealedSSLContext] = weakref.WeakSet()

    def serve(self) -> SealedSSLContext:
        """The context to use now, or the fail-closed error."""
        failure = self.failure
        if failure is not None:
            raise _fail_closed(failure)
        assert self.context is not None  # noqa: S101  # only built entries are served
        return self.context


def _fail_closed(failure: Exception) -> CertificateFileError:
    msg = f"{failure} (new connections are refused until it loads again)"
    return CertificateFileError(msg)


def _write_time(file_stamp: FileStamp) -> int:
    """When a file was last written, by its stamp.

    The ctime, which the kernel sets and utime() cannot move; on Windows st_ctime
    is the creation time, so there the mtime.
    """
    return file_stamp[2] if os.name == "posix" else file_stamp[1]


def _narrowed(old: SealedSSLContext, new: SealedSSLContext) -> bool:
    """Whether ``new`` trusts less than ``old``: a CA removed, or the CRLs changed."""
    if old._securesession_crls != new._securesession_crls:
        return True  # a new revocation must reach every holder
    kept = set(new.get_ca_certs(binary_form=True))
    return any(der not in kept for der in old.get_ca_certs(binary_form=True))


def _retired(tls: TLSConfig) -> CertificateFileError:
    msg = (
        f"the trust of this TLS context was rotated ({_context.describe_trust(tls)} changed "
        "and no longer holds some of its CAs or CRLs): get the current one from "
        "TLSConfig.ssl_context() again"
    )
    error = CertificateFileError(msg)
    error.securesession_retired = True  # type: ignore[attr-defined]  # the adapter retries these
    return error


class _ContextCache:
    """Process-wide map from TLSConfig to its context; thread-safe, bounded."""

    def __init__(self, maxsize: int = _MAX_CONTEXTS) -> None:
        self._maxsize = maxsize
        self._lock = threading.Lock()  # dictionary updates only: never around a build
        self._entries: weakref.WeakValueDictionary[TLSConfig, _Entry] = (
            weakref.WeakValueDictionary()
        )
        self._recent: collections.OrderedDict[TLSConfig, _Entry] = collections.OrderedDict()
        self._waiting: dict[int, _Entry] = {}  # thread -> the entry whose build it waits for
        self.builds = 0  # contexts built, first builds and reloads (for tests and benchmarks)

    def get(self, tls: TLSConfig) -> SealedSSLContext:
        """The current context for ``tls``, building or reloading it when due."""
        entry = self._entries.get(tls)
        if entry is not None and entry.context is not None:
            if time.monotonic() < entry.next_check:  # the fast path: no lock, no I/O
                return entry.serve()
            return self._recheck(tls, entry)
        return self._first_build(tls)

    def hold(self, tls: TLSConfig) -> object:
        """Build ``tls`` if needed and return a handle that keeps its entry alive."""
        self.get(tls)
        entry = self._entries.get(tls)
        if entry is None:  # pragma: no cover - cleared in between (tests only)
            return self.hold(tls)
        return entry

    def _keep(self, tls: TLSConfig, entry: _Entry) -> None:
        with self._lock:
            self._recent[tls] = entry
            self._recent.move_to_end(tls)
            while len(self._recent) > self._maxsize:
                self._recent.popitem(last=False)

    def _first_build(self, tls: TLSConfig) -> SealedSSLContext:
        me = threading.get_ident()
        while True:
            with self._lock:
                entry = self._entries.get(tls)
                if entry is None:
                    entry = _Entry()
                    self._entries[tls] = entry
                    self._recent[tls] = entry  # held strongly while it is being built
            if entry.context is not None:
                return self.get(tls)
            self._wait_for(entry, me)
            try:  # single flight: this configuration's build, and only it, is waited for
                if entry.context is not None:
                    return entry.serve()
                if self._entries.get(tls) is not entry:
                    continue  # that build failed and dropped the entry: try ourselves
                entry.builder = me
                try:
                    built = _context.build(tls)
                except BaseException:
                    with self._lock:
                        if self._entries.get(tls) is entry:
                            del self._entries[tls]
                        if self._recent.get(tls) is entry:
                            del self._recent[tls]
                    raise
                finally:
                    entry.builder = None
                self.builds += 1
                entry.stamps, entry.identity = built.stamps, built.identity
                entry.next_check = time.monotonic() + RECHECK_INTERVAL
                entry.context = built.context
            finally:
                entry.lock.release()
            self._keep(tls, entry)
            return built.context

    def _wait_for(self, entry: _Entry, me: int) -> None:
        """Take ``entry``'s lock, unless that would wait forever.

        A password callable can need another configuration whose own callable
        needs this one, in two threads (a cycle), or can hand the work to a thread
        pool that then asks for the configuration being built. The first is
        detected by following who waits for whom; the second ends after
        `_BUILD_WAIT` seconds. Both are a `TLSConfigError`, never a hang.
        """
        with self._lock:
            waited: _Entry | None = entry
            seen: set[int] = set()
            while waited is not None and waited.builder is not None:
                if waited.builder == me:
                    msg = (
                        "building this TLSConfig needs itself: a client-key password callable "
                        "makes a request with a configuration that is waiting for it"
                    )
                    raise TLSConfigError(msg)
                if waited.builder in seen:
                    break
                seen.add(waited.builder)
                waited = self._waiting.get(waited.builder)
            self._waiting[me] = entry
        try:
            acquired = entry.lock.acquire(timeout=_BUILD_WAIT)
        finally:
            with self._lock:
                self._waiting.pop(me, None)
        if not acquired:
            msg = (
                f"gave up after {_BUILD_WAIT:.0f} s waiting for another thread that is still "
                "building this TLSConfig (a slow key password callable, or one that waits "
                "for this thread)"
            )
            raise TLSConfigError(msg)

    def _recheck(self, tls: TLSConfig, entry: _Entry) -> SealedSSLContext:
        if not entry.lock.acquire(blocking=False):
            return entry.serve()  # another thread is checking: use what we have meanwhile
        try:
            now = time.monotonic()
            if now < entry.next_check:
                return entry.serve()
            entry.next_check = now + RECHECK_INTERVAL
            self._keep(tls, entry)  # recently used (at this one-interval granularity)
            current = tuple(stamp(s[0]) for s in entry.stamps)
            if current == entry.stamps:
                entry.unsettled_since = None
            if current == entry.stamps and entry.failure is None:
                if entry.failed_state is None or now < entry.retry_at:
                    return entry.serve()
                # An identity that failed on unchanged files: its password store may
                # have caught up since. Fall through to a reload.
            elif current == entry.failed_state and now < entry.retry_at:
                entry.unsettled_since = None
                return entry.serve()  # the state that failed: wait for a change (or later)
            elif not self._settled(entry, current, now):
                return entry.serve()
            self._reload(tls, entry, current, now)
            return entry.serve()
        finally:
            entry.lock.release()

    @staticmethod
    def _settled(entry: _Entry, current: tuple[FileStamp | None, ...], now: float) -> bool:
        """Whether the last write to the files is at least `RECHECK_INTERVAL` old.

        A file that keeps changing is loaded anyway after `_MAX_UNSETTLED` intervals:
        trust the file no longer holds must not stay in use however often it is
        touched (what then fails to load fails closed).
        """
        newest = max((_write_time(s) for s in current if s is not None), default=0)
        age = time.time() - newest / 1e9
        if entry.unsettled_since is None:
            entry.unsettled_since = now
        if age >= RECHECK_INTERVAL or age < 0:  # < 0: the clock went back; do not wait
            return True
        if now - entry.unsettled_since >= _MAX_UNSETTLED * RECHECK_INTERVAL:
            return True
        entry.next_check = now + (RECHECK_INTERVAL - age)  # look again as soon as it is due
        return False

    def _reload(
        self, tls: TLSConfig, entry: _Entry, current: tuple[FileStamp | None, ...], now: float
    ) -> None:
        entry.builder = threading.get_ident()
        try:
            built = _context.build(tls, last_identity=entry.identity)
        except Exception as exc:
            # Trust is exactly what is configured: a source that no longer loads
            # (deleted, emptied, garbage) trusts nothing, it does not keep the old CAs.
            entry.failure, entry.unsettled_since = exc, None  # the next change waits anew
            entry.failed_state, entry.retry_at = current, now + _RETRY_FAILED
            for held in (entry.context, *entry.previous):
                if held is not None:
                    set_failure(held, _fail_closed(exc))
            log.error("TLS trust no longer loads, refusing new connections: %s", exc)
            return
        finally:
            entry.builder = None
        self.builds += 1
        old = entry.context
        entry.stamps, entry.identity = built.stamps, built.identity
        entry.context = built.context
        entry.failure, entry.unsettled_since = None, None
        if old is not None:
            entry.previous.add(old)
        for held in entry.previous:
            # Whoever still holds an older context (httpx, urllib3) may keep using it
            # only if it trusts nothing the files no longer hold.
            set_failure(held, _retired(tls) if _narrowed(held, built.context) else None)
        if built.identity_error is not None:
            entry.failed_state, entry.retry_at = current, now + _RETRY_FAILED
            log.error(
                "keeping the previous client certificate: reloading it failed: %s",
                built.identity_error,
            )
        else:
            entry.failed_state = None
            log.info("reloaded TLS context after a file changed: %s", _context.describe_trust(tls))

    def clear(self) -> None:
        """Forget every context (tests; contexts in use keep working)."""
        with self._lock:
            self._entries.clear()
            self._recent.clear()

    def __len__(self) -> int:
        return len(self._entries)


CACHE = _ContextCache()
