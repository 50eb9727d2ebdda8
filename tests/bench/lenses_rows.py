#!/usr/bin/env python3
"""Benchmark: rows/s that the Lenses SQL envelope streams to a client for
SELECT * over a 1,000,000-row table, against the sqlite3 shell printing the
same rows as JSON to /dev/null, in the same run. Not a ctest test.

    RUNNEL_BUILD=build /usr/bin/python3 tests/bench/lenses_rows.py [ROWS]

The client is tests/bench/lenses_rows_client.c (compiled here with cc), a
plain-socket WebSocket reader, so Python is not what is measured."""
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("RUNNEL_BUILD", REPO / "build"))
ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    tmp = Path(tempfile.mkdtemp(prefix="lenses-bench-"))
    data = tmp / "data"
    data.mkdir()
    db = data / "big.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT, amount REAL, "
                "currency TEXT, ts INTEGER)")
    con.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
                "INSERT INTO big SELECT x, 'name-' || x, x * 0.37, "
                "CASE x % 3 WHEN 0 THEN 'EUR' WHEN 1 THEN 'USD' ELSE 'GBP' END, "
                "1678707744267 + x FROM c", (ROWS,))
    con.commit()
    con.close()

    client = tmp / "client"
    subprocess.run(["cc", "-O2", "-D_GNU_SOURCE", "-o", str(client),
                    str(REPO / "tests/bench/lenses_rows_client.c")], check=True)

    t0 = time.monotonic()
    with open(os.devnull, "wb") as null:
        subprocess.run(["sqlite3", "-json", str(db), "SELECT * FROM big"], stdout=null,
                       check=True)
    shell_s = time.monotonic() - t0

    port = free_port()
    cfg = {
        "limits": {"wall_ms": 600000, "cpu_ms": 600000, "output_bytes": 1 << 31,
                   "memory_bytes": 1 << 30},
        "lenses": {"environments": {"bench": {"path": str(data), "auth": False}},
                   "max_rows": ROWS * 2, "max_bytes": 1 << 31, "max_time_ms": 590000},
    }
    (tmp / "runnel.json").write_text(json.dumps(cfg))
    log = open(tmp / "runneld.log", "wb")
    (tmp / "nospecs").mkdir(exist_ok=True)
    srv = subprocess.Popen([str(BUILD / "src/runneld"), "--listen", f"127.0.0.1:{port}",
                            "--specs", str(tmp / "nospecs"), "--config",
                            str(tmp / "runnel.json")], stdout=log, stderr=subprocess.STDOUT)
    (tmp / "nospecs").mkdir(exist_ok=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or srv.poll() is not None:
                    sys.exit("runneld did not start: see " + str(tmp / "runneld.log"))
                time.sleep(0.1)
        out = subprocess.run([str(client), "127.0.0.1", str(port),
                              "/api/v1/environments/bench/proxy/api/ws/v2/sql/execute",
                              "SELECT * FROM big"], capture_output=True, text=True,
                             check=True).stdout
    finally:
        srv.terminate()
        srv.wait(10)
    fields = dict(kv.split("=", 1) for kv in out.split())
    got, secs = int(fields["records"]), float(fields["seconds"])
    if got != ROWS or fields["last"] != "END":
        sys.exit(f"bad run: {out}")
    runnel_rate, shell_rate = ROWS / secs, ROWS / shell_s
    print(f"rows={ROWS} bytes={fields['bytes']}")
    print(f"runnel lenses websocket: {secs:.2f} s, {runnel_rate:,.0f} rows/s")
    print(f"sqlite3 -json > /dev/null: {shell_s:.2f} s, {shell_rate:,.0f} rows/s")
    print(f"ratio: {runnel_rate / shell_rate:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
