"""Load on the HTTP service: throughput and latency of ``ncf serve`` under a bounded
number of concurrent connections, driven by wrk on 127.0.0.1.

Three workloads, one after the other against the same server: a known user's top-10
(random users), an item's 10 most similar items (random items), and a new user's top-10
from 20 random items (POST, fold-in). Each line gives requests per second, the median
and 99th-percentile latency, and the responses that were not 2xx (errors).

    apt-get install wrk
    ncf train --model neumf --data ../shared/data/ml-1m/ncf --out runs/neumf-ml1m
    python benchmarks/serve_load.py runs/neumf-ml1m [--workers 1] [--connections 8] \\
        [--duration 15]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd

SCRIPT = """
math.randomseed({seed})
local users = {{{users}}}
local items = {{{items}}}
local function pick(list) return list[math.random(#list)] end
request = function()
  {body}
end
"""
BODIES = {
    "user top-10": 'return wrk.format("GET", "/v1/users/" .. pick(users) .. '
    '"/recommendations?k=10")',
    "similar items": 'return wrk.format("GET", "/v1/items/" .. pick(items) .. "/similar?k=10")',
    "new user, 20 items": """local chosen = {}
  for i = 1, 20 do chosen[i] = '"' .. pick(items) .. '"' end
  local body = '{"items": [' .. table.concat(chosen, ",") .. '], "k": 10}'
  local headers = {["Content-Type"] = "application/json"}
  return wrk.format("POST", "/v1/recommendations", headers, body)""",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server stopped: {server.stderr.read() if server.stderr else ''}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                return json.loads(answer.read())
        except OSError:
            time.sleep(0.2)
    sys.exit("the server did not answer /health in time")


def lua_list(values: pd.Series) -> str:
    return ",".join(json.dumps(str(v)) for v in values)


def milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def drive(url: str, script: Path, connections: int, duration: int) -> dict:
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "--latency"]
        + ["-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": milliseconds(latency["50"]),
        "p99": milliseconds(latency["99"]),
        "errors": int(errors.group(1)) if errors else 0,
        "socket errors": socket_errors.group(1) if socket_errors else "none",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--only", help="one workload, e.g. 'user top-10'")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    bundle = args.run / "bundle" if (args.run / "bundle").is_dir() else args.run
    users = pd.read_parquet(bundle / "users.parquet")["user"]
    items = pd.read_parquet(bundle / "items.parquet")["item"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "ncf.cli", "serve", str(args.run), "--port", str(port)]
    command += ["--workers", str(args.workers)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        health = wait_healthy(url, server)
        print(
            f"{health['model']}: {health['users']:,} users, {health['items']:,} items; "
            f"{args.workers} worker(s), {args.connections} connections, {args.duration} s each, "
            f"{os.cpu_count()} cores shared with wrk\n"
        )
        print("| workload | requests/s | p50 ms | p99 ms | requests | errors |")
        print("|---|---|---|---|---|---|")
        with tempfile.TemporaryDirectory() as tmp:
            for seed, (name, body) in enumerate(BODIES.items()):
                if args.only and name != args.only:
                    continue
                script = Path(tmp) / f"{seed}.lua"
                script.write_text(
                    SCRIPT.format(
                        seed=seed, users=lua_list(users), items=lua_list(items), body=body
                    )
                )
                drive(url, script, args.connections, 2)  # warm up
                got = drive(url, script, args.connections, args.duration)
                errors = got["errors"] + (got["socket errors"] != "none")
                print(
                    f"| {name} | {got['rps']:.0f} | {got['p50']:.1f} | {got['p99']:.1f} | "
                    f"{got['requests']:,} | {errors} |"
                )
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
