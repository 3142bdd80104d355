"""``ncf serve`` as it would be exposed: a soak under load with a token, a reload in the
middle of a load run, and a fuzz of the authenticated API.

1. Soak: ``--minutes`` of known users' top-10 (random users, with the token) from wrk
   over loopback against ``--workers`` processes. Printed: requests per second, median
   and 99th-percentile latency, failed requests (non-2xx and socket errors), the access
   log's lines against the requests answered, and the server's resident memory (every
   process together) after the warm-up, every minute, and at the end.
2. Reload: 30 s of the same load with ``POST /v1/admin/reload`` after 10 s (every worker
   loads the bundle again and swaps it in), then 30 s with ``SIGHUP`` to the main process
   after 10 s (uvicorn replaces each worker, the new one serving before the old one
   stops). Printed: the failed requests (0 is the goal) and the process ids before and
   after.
3. Fuzz: schemathesis generates ``--fuzz`` requests (valid and invalid) over every
   endpoint but the reload, with the token; printed: requests and server errors (5xx).

    apt-get install wrk
    ncf train --model neumf --data ../shared/data/ml-1m/ncf --out runs/neumf-ml1m
    python benchmarks/serve_soak.py runs/neumf-ml1m [--minutes 10] [--workers 2] \\
        [--connections 4] [--fuzz 2000]
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from serve_load import drive, free_port, lua_list, wait_healthy  # noqa: E402  (wrk, the server)

SCRIPT = """
math.randomseed(7)
local users = {{{users}}}
local headers = {{["Authorization"] = "Bearer {token}"}}
request = function()
  local user = users[math.random(#users)]
  return wrk.format("GET", "/v1/users/" .. user .. "/recommendations?k=10", headers)
end
"""


def tree(pid: int) -> list[int]:
    """``pid`` and every process under it."""
    found, queue = [], [pid]
    while queue:
        here = queue.pop()
        found.append(here)
        for task in Path(f"/proc/{here}/task").glob("*/children"):
            queue += [int(child) for child in task.read_text().split()]
    return found


def resident_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children, in MB."""
    total = 0
    for process in tree(pid):
        try:
            status = Path(f"/proc/{process}/status").read_text()
        except OSError:
            continue
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        total += int(line.split()[1])
    return total / 1024


def post(url: str, token: str) -> int:
    request = urllib.request.Request(
        url, method="POST", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=120) as answer:
        return answer.status


def soak(url: str, script: Path, server: subprocess.Popen, args: argparse.Namespace) -> None:
    drive(url, script, args.connections, 5)  # warm up
    memory = [(0, resident_mb(server.pid))]
    stop = threading.Event()

    def sample() -> None:
        started = time.monotonic()
        while not stop.wait(60):
            memory.append((round((time.monotonic() - started) / 60), resident_mb(server.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    got = drive(url, script, args.connections, int(args.minutes * 60))
    stop.set()
    memory.append((args.minutes, resident_mb(server.pid)))
    failed = got["errors"] + (got["socket errors"] != "none")
    first, last = memory[0][1], memory[-1][1]
    print(f"## soak: {args.minutes} min, {args.workers} workers, {args.connections} connections\n")
    print("| requests | requests/s | p50 ms | p99 ms | failed | memory start -> end MB |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {got['requests']:,} | {got['rps']:.0f} | {got['p50']:.1f} | {got['p99']:.1f} | "
        f"{failed} | {first:.0f} -> {last:.0f} ({(last / first - 1) * 100:+.1f}%) |"
    )
    shown = ", ".join(f"{minute} min {mb:.0f}" for minute, mb in memory)
    print(f"\nresident memory of the server's processes, MB: {shown}")


def reload_under_load(
    url: str, script: Path, server: subprocess.Popen, token: str, how: str
) -> None:
    """30 s of load; after 10 s, a reload by ``how`` (``post`` or ``hup``)."""
    before = tree(server.pid)[1:]
    result: dict = {}
    load = threading.Thread(target=lambda: result.update(drive(url, script, 4, 30)))
    load.start()
    time.sleep(10)
    if how == "post":
        answer = f"{post(f'{url}/v1/admin/reload', token)}"
    else:
        os.kill(server.pid, signal.SIGHUP)
        answer = "-"
    load.join()
    after = tree(server.pid)[1:]
    failed = result["errors"] + (result["socket errors"] != "none")
    what = "POST /v1/admin/reload" if how == "post" else "SIGHUP to the main process"
    print(
        f"| {what} | {result['requests']:,} | {result['rps']:.0f} | {result['p99']:.1f} | "
        f"{failed} ({result['socket errors']}) | {answer} | {before} -> {after} |"
    )


def fuzz(url: str, token: str, wanted: int) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [op.ok() for op in schema.get_all_operations()]
    operations = [op for op in operations if op.path != "/v1/admin/reload"]
    per = math.ceil(wanted / len(operations))
    statuses: list[int] = []
    for _ in range(50):  # rounds until enough: an endpoint without parameters gives one case
        if len(statuses) >= wanted:
            break
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=per,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case):  # noqa: ANN001, ANN202 - a hypothesis test
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                statuses.append(response.status_code)

            check()
    counts = pd.Series(statuses).value_counts().sort_index()
    errors = int(counts[counts.index >= 500].sum())
    print(f"\n## fuzz: schemathesis over {len(operations)} endpoints, with the token\n")
    print(f"{len(statuses):,} requests; server errors (5xx): {errors}; by status:")
    print(", ".join(f"{code}: {n:,}" for code, n in counts.items()))


def counted(url: str, token: str) -> None:
    """The requests ``/metrics`` counted, over every worker."""
    request = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        text = answer.read().decode()
    lines = [line for line in text.splitlines() if line.startswith("ncf_requests_total{")]
    total = sum(float(line.rsplit(" ", 1)[1]) for line in lines)
    routes = {line.split('route="', 1)[1].split('"', 1)[0] for line in lines}
    print(f"\n/metrics: {total:,.0f} requests counted over every worker, {len(routes)} routes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--fuzz", type=int, default=2000)
    parser.add_argument("--skip", default="", help="comma-separated: soak, reload, fuzz")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    bundle = args.run / "bundle" if (args.run / "bundle").is_dir() else args.run
    users = pd.read_parquet(bundle / "users.parquet")["user"]
    token = secrets.token_urlsafe(24)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        token_file = Path(tmp) / "token"
        token_file.write_text(token + "\n")
        log = Path(tmp) / "access.log"
        command = [sys.executable, "-m", "ncf.cli", "serve", str(args.run), "--port", str(port)]
        command += ["--workers", str(args.workers), "--token-file", str(token_file)]
        with log.open("w") as sink:
            server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sink)
        try:
            wait_healthy(url, server)
            script = Path(tmp) / "soak.lua"
            script.write_text(SCRIPT.format(users=lua_list(users), token=token))
            print(f"{len(users):,} users; {os.cpu_count()} cores shared with wrk\n")
            if "soak" not in skip:
                soak(url, script, server, args)
            if "reload" not in skip:
                print("\n## reload under load: 30 s of load, the reload after 10 s\n")
                print(
                    "| reload | requests | requests/s | p99 ms | failed (socket errors) "
                    "| answer | processes before -> after |"
                )
                print("|---|---|---|---|---|---|---|")
                for how in ("post", "hup"):
                    reload_under_load(url, script, server, token, how)
            if "fuzz" not in skip:
                fuzz(url, token, args.fuzz)
            counted(url, token)
        finally:
            server.terminate()
            server.wait(60)
        lines = log.read_text().splitlines()
        answered = sum(" ms id=" in line for line in lines)
        other = [line for line in lines if " ms id=" not in line]
        print(f"\naccess log: {answered:,} request lines, {len(other)} other lines")
        for line in other[:5]:
            print(f"  {line[:160]}")


if __name__ == "__main__":
    main()
