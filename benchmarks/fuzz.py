"""Run the hostile-input fuzz targets of tests/test_fuzz.py at scale and count the outcomes.

    python benchmarks/fuzz.py --examples 10000

Every example must end in success, a `TLSConfigError` subclass or `TypeError`;
anything else (including BaseExceptions such as cryptography's Rust panics) is
counted as UNTYPED, printed, and makes the script exit 1. Hypothesis draws fresh
random examples each run (the test suite's copy is derandomized and smaller).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from hypothesis import HealthCheck, given, settings
from tests.test_fuzz import ALLOWED, TARGETS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000, help="in total, over all targets")
    args = parser.parse_args()
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        os.environ.pop(name, None)
    per_target = max(1, args.examples // len(TARGETS))
    untyped = 0
    total = 0
    start = time.perf_counter()
    for name, strategy, target in TARGETS:
        counts: collections.Counter[str] = collections.Counter()

        @settings(
            max_examples=per_target,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def run(value: object) -> None:
            try:
                error = target(value)  # noqa: B023  # run() is called in this iteration
            except ALLOWED as exc:  # pragma: no cover - targets return these
                error = exc
            except BaseException as exc:  # exactly what we count
                counts[f"UNTYPED {type(exc).__name__}"] += 1  # noqa: B023
                traceback.print_exception(exc, limit=4)
                return
            counts["success" if error is None else type(error).__name__] += 1  # noqa: B023

        run()
        done = sum(counts.values())
        total += done
        untyped += sum(v for k, v in counts.items() if k.startswith("UNTYPED"))
        outcome = ", ".join(f"{k} {v}" for k, v in counts.most_common())
        print(f"{name:>18}: {done:6d} examples: {outcome}")
    elapsed = time.perf_counter() - start
    print(f"{'total':>18}: {total:6d} examples in {elapsed:.0f} s, {untyped} untyped")
    return 1 if untyped else 0


if __name__ == "__main__":
    sys.exit(main())
