"""A path for bytes that OpenSSL can only read from a file, without a file on disk.

`ssl.SSLContext.load_cert_chain` and CRL loading take only paths. On Linux the
bytes go to an anonymous in-memory file (``memfd_create``: RAM only, no name on
any filesystem) read through ``/proc/self/fd/N``. Elsewhere they go to a ``0600``
file made with `tempfile.mkstemp` and deleted as soon as the block ends; callers
never put a plaintext private key in it (see `_identity`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

__all__ = ["in_memory_file"]

# Tests flip this to exercise the portable path on Linux.
USE_MEMFD = hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")


@contextlib.contextmanager
def in_memory_file(data: bytes, name: str = "securesession") -> Iterator[str]:
    """Yield a readable path holding ``data`` for the duration of the block."""
    if USE_MEMFD:
        fd = os.memfd_create(name, os.MFD_CLOEXEC)
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    fd, path = tempfile.mkstemp(prefix=f"{name}-", suffix=".pem")  # 0600, O_EXCL
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        yield path
    finally:
        os.unlink(path)
