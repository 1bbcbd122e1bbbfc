"""Reading the files a configuration names: regular files only, bounded, consistent.

Every certificate, key, CRL, PKCS#12 and CA file securesession reads goes
through `read_file`, so three promises hold in one place:

* **Regular files only.** A FIFO would block ``open()`` forever, a device
  (``/dev/zero``) would be read until memory runs out, a socket cannot be read
  at all. The path is opened with ``O_NONBLOCK`` (so opening a FIFO cannot hang)
  and the descriptor's own ``fstat`` decides: anything but a regular file is a
  `CertificateFileError` at once.
* **Bounded.** No file over `MAX_FILE_SIZE` is read; the read itself is capped
  too, so a file that grows while it is read cannot exceed it.
* **Consistent.** Content and stamp come from the same descriptor. A file
  rewritten in place while it was read (its size or mtime moved) is read
  again, a few times, instead of failing: an atomic ``os.replace`` never
  disturbs an open descriptor, and a writer that is still busy settles.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator

from .errors import CertificateFileError, TLSConfigError

__all__ = ["MAX_FILE_SIZE", "FileStamp", "crypto_errors", "read_file", "stamp"]

MAX_FILE_SIZE = 16 * 1024 * 1024
"""The largest certificate, key, CRL or bundle file securesession reads (16 MiB).

certifi's bundle is ~300 KB; a file a hundred times that size is a mistake or an attack."""

# (path, st_mtime_ns, st_ctime_ns, st_size, st_ino): what must stay equal for a file
# not to be re-read (ctime catches a chmod that makes a rotated file readable).
FileStamp = tuple[str, int, int, int, int]

_ATTEMPTS = 3  # reads of a file that keeps changing under us before giving up


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def _stamp_of(path: str, st: os.stat_result) -> FileStamp:
    return (path, st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


def check_regular(field: str, path: str, st: os.stat_result) -> None:
    """Raise `CertificateFileError` unless ``st`` is a regular file of bounded size."""
    if not stat.S_ISREG(st.st_mode):
        msg = f"{field}: {path} is {_kind(st.st_mode)}, not a regular file"
        raise CertificateFileError(msg)
    if st.st_size > MAX_FILE_SIZE:
        msg = (
            f"{field}: {path} is {st.st_size} bytes, over the {MAX_FILE_SIZE}-byte limit "
            "for certificate, key and CRL files"
        )
        raise CertificateFileError(msg)


def read_file(path: str, field: str) -> tuple[bytes, FileStamp]:
    """Read a regular file of at most `MAX_FILE_SIZE` bytes; return it with its stamp.

    Args:
        path: The file.
        field: The configuration field it came from, for messages ("ca_bundle").

    Raises:
        CertificateFileError: missing, unreadable, not a regular file, too big,
            or still changing after a few reads (names ``field`` and ``path``).
    """
    for _ in range(_ATTEMPTS):
        try:
            # O_NONBLOCK: opening a FIFO with no writer would otherwise block forever.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            msg = f"{field}: cannot read {path}: {exc.strerror or exc}"
            raise CertificateFileError(msg) from exc
        try:
            before = os.fstat(fd)
            check_regular(field, path, before)
            chunks = []
            left = MAX_FILE_SIZE + 1
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            after = os.fstat(fd)
        except OSError as exc:
            if isinstance(exc, CertificateFileError):
                raise
            msg = f"{field}: cannot read {path}: {exc.strerror or exc}"
            raise CertificateFileError(msg) from exc
        finally:
            os.close(fd)
        data = b"".join(chunks)
        if len(data) > MAX_FILE_SIZE:
            msg = f"{field}: {path} grew over the {MAX_FILE_SIZE}-byte limit while it was read"
            raise CertificateFileError(msg)
        # Content moved if the size or mtime did. (Not the ctime: an os.replace()
        # that unlinks the file we hold changes only that, and not what we read.)
        same = (before.st_mtime_ns, before.st_size) == (after.st_mtime_ns, after.st_size)
        if same and len(data) == after.st_size:
            return data, _stamp_of(path, after)
    msg = f"{field}: {path} kept changing while it was being read; is a writer still busy?"
    raise CertificateFileError(msg)


def stamp(path: str) -> FileStamp | None:
    """The current stamp of ``path`` (None when it cannot be stat'ed)."""
    try:
        return _stamp_of(path, os.stat(path))
    except OSError:
        return None


def is_panic(exc: BaseException) -> bool:
    """Whether ``exc`` is a Rust panic from cryptography (pyo3's ``PanicException``).

    It derives from `BaseException`, so it escapes every ``except Exception``: one
    hostile file could kill a worker thread.
    """
    return type(exc).__name__ == "PanicException"


@contextlib.contextmanager
def crypto_errors(message: str) -> Iterator[None]:
    """Turn whatever parsing untrusted bytes raises into `CertificateFileError(message)`.

    cryptography raises ValueError, UnsupportedAlgorithm and, on some inputs, Rust
    panics; our own typed errors and TypeError (a wrong type) pass through unchanged. ``message``
    names the source and never its content.
    """
    try:
        yield
    except (TLSConfigError, TypeError):  # ours, or a value of the wrong type (a password)
        raise
    except Exception as exc:
        raise CertificateFileError(f"{message} ({type(exc).__name__})") from exc
    except BaseException as exc:
        if is_panic(exc):
            # Not chained: a panic's text can echo the bytes it choked on (a password).
            raise CertificateFileError(f"{message} (the parser panicked)") from None
        raise
