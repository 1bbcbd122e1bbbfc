"""Run a call in a thread with a deadline, so a hang fails the test instead of the suite."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def finishes(fn: Callable[[], Any], seconds: float = 30.0) -> Any:
    """Return what ``fn`` returns (or raise what it raises); fail if it runs past ``seconds``."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # re-raised below, whatever it is
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "deadlocked or hung: did not finish"
    if errors:
        raise errors[0]
    return result[0]


def raised_by(fn: Callable[[], object], seconds: float = 15.0) -> BaseException | None:
    """What ``fn`` raised (None if nothing), within ``seconds``."""
    try:
        finishes(fn, seconds)
    except AssertionError as exc:
        if "did not finish" in str(exc):
            raise
        return exc
    except BaseException as exc:  # returned: the caller checks its type
        return exc
    return None
