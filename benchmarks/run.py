"""securesession vs requests vs httpx, side by side in one run.

Measures, against one local HTTPS server running in a separate process:

1. new connections per second with a certifi-sized CA bundle (every request sends
   ``Connection: close``): requests with ``verify=bundle``, httpx with one cached
   context, securesession with and without TLS session resumption;
2. keep-alive client CPU per request (`time.process_time`), with urllib3 and
   http.client as floors;
3. memory for 100 sessions sharing one configuration, against one context per
   session (what a hand-built context per session costs), in fresh subprocesses;
4. import time (fresh interpreters, best of several).

Prints a table, writes ``benchmarks/results/latest.json`` and a plot of the
ratios, ``benchmarks/results/ratios.png``. Rounds are interleaved so that machine
noise hits every client alike; medians are reported.

Run: .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/run.py
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import LocalServer, local_server

RESULTS = Path(__file__).with_name("results")
CLOSE = {"Connection": "close"}
# The comparison must not depend on this machine's environment (CI machines set these).
for _name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
    os.environ.pop(_name, None)


def _median_rate(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def _cpu_per_request_ms(fn: Callable[[], object], n: int) -> float:
    fn()  # connection made and warm
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1000


def new_connections(srv: LocalServer, rounds: int, scale: int) -> dict[str, list[float]]:
    import httpx
    import requests

    from securesession import SecureSession

    plain = requests.Session()
    ctx = ssl.create_default_context(cafile=srv.bundle)  # httpx: one context, built once
    hx = httpx.Client(verify=ctx)
    secure = SecureSession(ca_bundle=srv.bundle)
    no_resume = SecureSession(ca_bundle=srv.bundle, resume_sessions=False)
    clients: dict[str, tuple[Callable[[], object], int]] = {
        "requests": (lambda: plain.get(srv.url, headers=CLOSE, verify=srv.bundle), 3 * scale),
        "httpx": (lambda: hx.get(srv.url, headers=CLOSE), 30 * scale),
        "securesession (no resumption)": (
            lambda: no_resume.get(srv.url, headers=CLOSE),
            30 * scale,
        ),
        "securesession": (lambda: secure.get(srv.url, headers=CLOSE), 30 * scale),
    }
    results: dict[str, list[float]] = {name: [] for name in clients}
    for fn, _ in clients.values():
        fn()  # warm: contexts built, first handshake done, session ticket stored
    for _ in range(rounds):
        for name, (fn, n) in clients.items():
            results[name].append(_median_rate(fn, n))
    for closable in (plain, hx, secure, no_resume):
        closable.close()
    return results


def keepalive_cpu(srv: LocalServer, rounds: int, scale: int) -> dict[str, list[float]]:
    import httpx
    import requests
    import urllib3

    from securesession import SecureSession

    port = int(srv.url.rsplit(":", 1)[1].strip("/"))
    ctx = ssl.create_default_context(cafile=srv.bundle)
    plain = requests.Session()
    hx = httpx.Client(verify=ctx)
    secure = SecureSession(ca_bundle=srv.bundle)
    pool = urllib3.HTTPSConnectionPool("127.0.0.1", port, ssl_context=ctx)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)

    def raw_http_client() -> None:
        conn.request("GET", "/")
        conn.getresponse().read()

    clients: dict[str, Callable[[], object]] = {
        "requests": lambda: plain.get(srv.url, verify=srv.bundle),
        "httpx": lambda: hx.get(srv.url),
        "securesession": lambda: secure.get(srv.url),
        "urllib3": lambda: pool.request("GET", "/"),
        "http.client": raw_http_client,
    }
    results: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(rounds):
        for name, fn in clients.items():
            results[name].append(_cpu_per_request_ms(fn, 300 * scale))
    for closable in (plain, hx, secure, pool, conn):
        closable.close()
    return results


_MEMORY_SCRIPT = """
import gc, ssl, sys
def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4
bundle, ca_only, kind = sys.argv[1], sys.argv[2], sys.argv[3]
from securesession import SecureSession
import requests
# Warm-up outside the measurement: lazily imported modules and first-use caches,
# through a different (small) configuration. The measured part then includes the
# one context the 100 sessions share, built from the certifi-sized bundle.
SecureSession(ca_bundle=ca_only).close()
ssl.create_default_context(cafile=ca_only)
keep = []
gc.collect(); before = rss_kib()
for _ in range(100):
    if kind == "securesession":
        keep.append(SecureSession(ca_bundle=bundle))
    else:  # one context per session, each loading the bundle
        ctx = ssl.create_default_context(cafile=bundle)
        session = requests.Session()
        keep.append((session, ctx))
gc.collect(); print(rss_kib() - before)
"""


def memory(srv: LocalServer, rounds: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"securesession": [], "context per session": []}
    for _ in range(rounds):
        for kind in results:
            out = subprocess.run(
                [sys.executable, "-c", _MEMORY_SCRIPT, srv.bundle, srv.ca_only, kind.split()[0]],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            results[kind].append(max(float(out.strip()), 1.0))  # KiB; 1 KiB floor for ratios
    return results


def import_times(rounds: int) -> dict[str, list[float]]:
    # Installed packages ship bytecode; an editable checkout may not (and some
    # environments set PYTHONDONTWRITEBYTECODE): compile ours first, for a fair race.
    import compileall

    import securesession

    compileall.compile_dir(Path(securesession.__file__).parent, quiet=1)
    statements = {
        "python": "pass",
        "import requests": "import requests",
        "import httpx": "import httpx",
        "import securesession": "import securesession",
        "from securesession import SecureSession": "from securesession import SecureSession",
    }
    results: dict[str, list[float]] = {name: [] for name in statements}
    for _ in range(rounds):
        for name, statement in statements.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", statement], check=True)
            results[name].append((time.perf_counter() - start) * 1000)
    return results


def _row(name: str, values: list[float], base: float, unit: str, higher_is_better: bool) -> str:
    m = statistics.median(values)
    ratio = m / base if higher_is_better else base / m
    return f"  {name:<42}{m:>10.2f} {unit:<6}{min(values):>9.2f}{max(values):>9.2f}{ratio:>8.2f}x"


def report(results: dict[str, Any]) -> list[str]:
    lines = [
        f"securesession benchmark — {results['machine']}",
        f"  {'':<42}{'median':>10} {'':<6}{'min':>9}{'max':>9}{'vs ref':>9}",
    ]
    sections = [
        ("new connections/s, certifi-sized bundle (ref: requests)",
         "new_connections", "conn/s", True, "requests"),
        ("keep-alive client CPU per request (ref: requests)",
         "keepalive_cpu", "ms", False, "requests"),
        ("RSS for 100 sessions, one config (ref: context per session)",
         "memory", "KiB", False, "context per session"),
        ("import time, fresh interpreter (ref: import requests)",
         "imports", "ms", False, "import requests"),
    ]  # fmt: skip
    for title, key, unit, higher, ref in sections:
        lines.append(title)
        data = results[key]
        base = statistics.median(data[ref])
        lines.extend(_row(name, values, base, unit, higher) for name, values in data.items())
    return lines


def targets(results: dict[str, Any]) -> list[str]:
    med = {
        k: {n: statistics.median(v) for n, v in d.items()}
        for k, d in results.items()
        if isinstance(d, dict)
    }
    nc, cpu, mem, imp = med["new_connections"], med["keepalive_cpu"], med["memory"], med["imports"]
    checks = [
        ("new connections >= 10x requests", nc["securesession"] / nc["requests"], 10, True),
        ("new connections >= 1.2x httpx", nc["securesession"] / nc["httpx"], 1.2, True),
        ("keep-alive CPU <= 0.75x requests", cpu["securesession"] / cpu["requests"], 0.75, False),
        ("keep-alive CPU <= httpx (stretch)", cpu["securesession"] / cpu["httpx"], 1.0, False),
        ("100 sessions >= 50x less memory",
         mem["context per session"] / mem["securesession"], 50, True),
        ("import securesession <= 1.05x requests",
         imp["import securesession"] / imp["import requests"], 1.05, False),
        ("from securesession import SecureSession <= 1.05x requests",
         imp["from securesession import SecureSession"] / imp["import requests"], 1.05, False),
    ]  # fmt: skip
    lines = ["targets"]
    for name, value, limit, higher in checks:
        ok = value >= limit if higher else value <= limit
        lines.append(f"  {'met ' if ok else 'MISS'} {name:<58} {value:>7.2f}")
    return lines


def plot(results: dict[str, Any], path: Path) -> None:
    """One panel per measurement: how many times better than the reference (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("new connections/s vs requests", "new_connections", True, "requests"),
        ("keep-alive CPU/request vs requests", "keepalive_cpu", False, "requests"),
        ("RSS for 100 sessions vs context per session", "memory", False, "context per session"),
        ("import time vs import requests", "imports", False, "import requests"),
    ]
    fig, axes = plt.subplots(4, 1, figsize=(9, 11))
    for ax, (title, key, higher, ref) in zip(axes, panels, strict=True):
        data = {n: statistics.median(v) for n, v in results[key].items()}
        base = data[ref]
        ratios = {n: (v / base if higher else base / v) for n, v in data.items()}
        names = list(ratios)
        colors = ["#d62728" if "securesession" in n else "#7f7f7f" for n in names]
        bars = ax.barh(names, list(ratios.values()), color=colors)
        ax.bar_label(bars, labels=[f"{r:.2f}x" for r in ratios.values()], padding=3, fontsize=8)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_title(f"{title} (times better; higher is better)", fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
        ax.invert_yaxis()
    fig.suptitle(results["machine"], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description="securesession vs requests vs httpx")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scale", type=int, default=3, help="requests per round, x")
    parser.add_argument(
        "--server-key",
        choices=["rsa", "ecdsa"],
        default="rsa",
        help="server key type: RSA-2048 (most public servers) or ECDSA P-256",
    )
    args = parser.parse_args()

    import urllib3

    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"CPython {platform.python_version()}, {ssl.OPENSSL_VERSION}, "
        f"urllib3 {urllib3.__version__}",
    }
    results["machine"] += f", server key {args.server_key}"
    with local_server(args.server_key) as srv:
        results["new_connections"] = new_connections(srv, args.rounds, args.scale)
        results["keepalive_cpu"] = keepalive_cpu(srv, args.rounds, args.scale)
        results["memory"] = memory(srv, min(args.rounds, 3))
    results["imports"] = import_times(max(args.rounds, 7))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    plot(results, RESULTS / "ratios.png")
    print("\n".join([*report(results), *targets(results)]))
    print(f"wrote {RESULTS / 'latest.json'} and {RESULTS / 'ratios.png'}")


if __name__ == "__main__":
    main()
