"""A marking centre's load on one `evalkit grade serve`: 200 simulated markers for a minute.

Each simulated marker opens its link, then loops as a teacher's browser does: ask for the next answer
(``GET /mark`` → 303), load the marking screen, spend ``--think`` seconds on it (a real teacher spends a
minute or more on a solution; the default 2 s makes 200 markers ~50 times a real centre's rate), and
submit step marks with the screen's CSRF token (``POST``). ``--think 0`` is the saturation test. All of it against one server process on 127.0.0.1 (nothing else is contacted), over
synthetic run folders of the built-in paper's solutions (20 "models" × 500 answers).

Printed: submissions per second; p50/p95 latency of the screen and of a submission; marks lost
(acknowledged by the server but not in the database, or not in the run folder after the round) and
marks recorded twice (both must be 0); how long a settled mark takes to reach its run folder (from the
database's own record of when each answer was written); the database size per 1,000 marks. Beside them, the reference measured in the same run:
the same 200 clients at the same pace fetching a static file from the same server (no database, no
templates): what the HTTP stack alone gives on this machine at that moment.

    .venv/bin/python benchmarks/marking_load.py                      # 200 markers, 60 s
    .venv/bin/python benchmarks/marking_load.py --markers 50 --seconds 10
    .venv/bin/python benchmarks/marking_load.py --think 0                 # as fast as the server answers
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from evalkit.adapters import make_adapter
from evalkit.adapters.http import HTTPClient, TransportError
from evalkit.runner import RunConfig, run_sync
from evalkit.tasks import get_task

REPO = Path(__file__).resolve().parent.parent


def make_runs(root: Path, models: int, copies: int) -> list[Path]:
    """``models`` run folders, each with ``copies`` answers to every solution of the built-in paper."""
    task = get_task("gaokao-math")
    ids = [s.id for s in task.samples if s.metadata["type"] == "solution"]
    base = root / "base"
    run_sync(task, make_adapter("reference"), RunConfig(output=base, progress=False, use_cache=False, ids=ids))
    rows = [json.loads(line) for line in (base / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    runs = []
    for m in range(models):
        run = root / f"model-{m:02d}"
        shutil.copytree(base, run)
        with (run / "samples.jsonl").open("w", encoding="utf-8") as fh:
            for k in range(copies):
                for r in rows:
                    fh.write(json.dumps({**r, "id": f"{r['id']}-{k:04d}"}, ensure_ascii=False) + "\n")
        runs.append(run)
    return runs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(runs: list[Path], db: Path, names: list[str], port: int) -> tuple[subprocess.Popen[str], dict]:
    people = [a for n in names for a in ("--marker", n)]
    cmd = [sys.executable, "-m", "evalkit.cli", "grade", "serve", *map(str, runs), "--db", str(db), "--port",
           str(port), *people]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"})
    links: dict[str, str] = {}
    assert proc.stdout is not None
    while len(links) < len(names) + 1:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the server exited before printing its links")
        m = re.match(r"\s+\w+\s+(.+?): http://[^/]+(/t/\S+)", line)
        if m:
            links[m.group(1)] = m.group(2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, links
        time.sleep(0.1)
    raise SystemExit("the server did not start listening")


class Marker:
    """One simulated teacher: a keep-alive connection, a session cookie, a loop of screens and submissions."""

    def __init__(self, name: str, url: str, link: str) -> None:
        self.name, self.link = name, link
        self.http = HTTPClient(url)
        self.cookie = ""
        self.screen_ms: list[float] = []
        self.submit_ms: list[float] = []
        self.acked: dict[str, float] = {}
        self.errors = 0

    async def get(self, path: str) -> tuple[int, str, str]:
        r = await self.http.request("GET", path, headers={"Cookie": self.cookie} if self.cookie else None)
        return r.status, r.body.decode("utf-8", "replace"), r.header("location") or ""

    async def login(self) -> None:
        r = await self.http.request("GET", self.link)
        self.cookie = (r.header("set-cookie") or "").split(";")[0]

    async def one(self, points_of: dict[int, int], think: float = 0.0) -> bool:
        """Take the next answer and mark it; False when the queue is empty."""
        status, _, location = await self.get("/mark")
        if status != 303 or "/mark/" not in location:
            return False
        t0 = time.perf_counter()
        status, html, _ = await self.get(location)
        self.screen_ms.append((time.perf_counter() - t0) * 1000)
        code = location.rsplit("/", 1)[1]
        csrf = re.search(r'name="csrf" value="([^"]+)"', html)
        steps = [(int(k), int(m)) for k, m in re.findall(r'data-step="(\d+)" data-max="(\d+)"', html)]
        if status != 200 or not csrf:
            self.errors += 1
            return True
        given = {k: min(points_of.get(k, m), m) for k, m in steps}
        if think:
            await asyncio.sleep(think)  # reading the answer
        body = urllib.parse.urlencode({"csrf": csrf.group(1), **{f"step{k}": v for k, v in given.items()}}).encode()
        t0 = time.perf_counter()
        r = await self.http.request("POST", location, body, {"Cookie": self.cookie,
                                                             "Content-Type": "application/x-www-form-urlencoded"})
        self.submit_ms.append((time.perf_counter() - t0) * 1000)
        if r.status == 303:
            self.acked[code] = float(sum(given.values()))
        else:
            self.errors += 1
        return True

    async def run(self, until: float, points_of: dict[int, int], think: float, rng: random.Random) -> None:
        await asyncio.sleep(rng.uniform(0, 2 * think))  # teachers do not all log in in the same millisecond
        await self.login()
        while time.monotonic() < until:
            try:
                if not await self.one(points_of, think * rng.uniform(0.5, 1.5)):
                    return
            except TransportError:
                self.errors += 1
        await self.http.aclose()


async def static_reference(url: str, n: int, seconds: float, think: float) -> list[float]:
    """The same clients at the same pace (three requests per ``think``) fetching a static file: the HTTP
    stack on this machine at this moment, without database, templates or marks."""
    times: list[float] = []

    async def client(rng: random.Random) -> None:
        http = HTTPClient(url)
        await asyncio.sleep(rng.uniform(0, think))
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            t0 = time.perf_counter()
            await http.request("GET", "/static/room.css")
            times.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(think * rng.uniform(0.5, 1.5) / 3)
        await http.aclose()

    await asyncio.gather(*(client(random.Random(i)) for i in range(n)))
    return times


def checkpointed_size(db: Path) -> int:
    """The database file's size once its write-ahead log is folded in."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db.stat().st_size


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def folder_lag(db: Path) -> list[float]:
    """For each settled answer: seconds from the mark that settled it to its marks being in the run folder."""
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT a.written_at - max(m.submitted) FROM answers a JOIN marks m ON m.answer_id=a.id "
                        "WHERE a.state != 'open' AND a.written_at IS NOT NULL GROUP BY a.id").fetchall()
    conn.close()
    return [r[0] for r in rows if r[0] is not None and r[0] >= 0]


def check(db: Path, markers: list[Marker]) -> tuple[int, int, int]:
    """(marks lost, marks recorded twice, answers marked by more markers than they need)."""
    conn = sqlite3.connect(db)
    recorded = {(n, c): p for n, c, p in conn.execute(
        "SELECT p.name, a.code, m.points FROM marks m JOIN people p ON p.id=m.person_id JOIN answers a ON a.id=m.answer_id")}
    lost = sum(1 for mk in markers for code, pts in mk.acked.items() if recorded.get((mk.name, code)) != pts)
    twice = conn.execute("SELECT count(*) FROM (SELECT answer_id, person_id FROM marks GROUP BY answer_id, person_id "
                         "HAVING count(*) > 1)").fetchone()[0]
    over = conn.execute("SELECT count(*) FROM answers a WHERE (SELECT count(*) FROM marks m WHERE m.answer_id=a.id "
                        "AND m.role='marker') > a.need").fetchone()[0]
    conn.close()
    return lost, twice, over


def runs_agree(db: Path) -> int:
    """Settled answers whose run folder does not hold exactly the database's marks (must be 0)."""
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT r.path, a.sample_id, p.name, m.points FROM marks m JOIN answers a ON a.id=m.answer_id "
                        "JOIN runs r ON r.id=a.run_id JOIN people p ON p.id=m.person_id WHERE a.state != 'open'").fetchall()
    conn.close()
    want: dict[tuple[str, str], dict[str, float]] = {}
    for path, sid, name, pts in rows:
        want.setdefault((path, sid), {})[name] = pts
    have: dict[tuple[str, str], dict[str, float]] = {}
    for path in {p for p, _ in want}:
        for line in (Path(path) / "samples.jsonl").read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            marks = [m for m in rec["score"].get("details", {}).get("marks", []) if m["grader"] in ("human", "arbiter")]
            if marks:
                have[(path, rec["id"])] = {m["marker"]: m["points"] for m in marks}
    return sum(1 for k, v in want.items() if have.get(k) != v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markers", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--models", type=int, default=20)
    ap.add_argument("--copies", type=int, default=100, help="answers per solution per model")
    ap.add_argument("--think", type=float, default=2.0,
                    help="seconds a marker spends on an answer (±50%%); 0: as fast as the server answers")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="evalkit-marking-load-") as tmp:
        root = Path(tmp)
        runs = make_runs(root, args.models, args.copies)
        names = [f"m{i:03d}" for i in range(args.markers)]
        db, port = root / "round.sqlite", free_port()
        proc, links = start_server(runs, db, names, port)
        url = f"http://127.0.0.1:{port}"
        try:
            size_before = checkpointed_size(db)
            ref = asyncio.run(static_reference(url, args.markers, min(15.0, args.seconds), args.think))
            markers = [Marker(n, url, links[n]) for n in names[: args.markers]]
            # half the markers give full marks, half one point less on step 1: within the threshold
            plans = [{} if i % 2 else {1: 3} for i in range(len(markers))]

            async def load() -> float:
                t0 = time.monotonic()
                until = t0 + args.seconds
                rngs = [random.Random(i) for i in range(len(markers))]
                await asyncio.gather(*(m.run(until, p, args.think, r) for m, p, r in zip(markers, plans, rngs,
                                                                                          strict=True)))
                return time.monotonic() - t0

            elapsed = asyncio.run(load())
            lag = folder_lag(db)  # while the server still runs: marks written during the load
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=120)
        lost, twice, over = check(db, markers)
        mismatched = runs_agree(db)
        size_after = checkpointed_size(db)
        conn = sqlite3.connect(db)
        n_marks = conn.execute("SELECT count(*) FROM marks").fetchone()[0]
        conn.close()
        screen = [x for m in markers for x in m.screen_ms]
        submit = [x for m in markers for x in m.submit_ms]
        acked = sum(len(m.acked) for m in markers)
        errors = sum(m.errors for m in markers)
        print(f"marking load: {args.markers} markers, {elapsed:.0f} s, {args.think:g} s per answer (±50%), "
              f"{args.models} runs × {args.copies * 5} answers, one server on 127.0.0.1")
        print(f"  submissions            {acked} acknowledged ({acked / elapsed:.1f}/s), {errors} errors")
        print(f"  marking screen         p50 {pct(screen, .5):6.1f} ms   p95 {pct(screen, .95):6.1f} ms   "
              f"p99 {pct(screen, .99):6.1f} ms")
        print(f"  submit a mark          p50 {pct(submit, .5):6.1f} ms   p95 {pct(submit, .95):6.1f} ms   "
              f"p99 {pct(submit, .99):6.1f} ms   (goal p95 < 200 ms)")
        print(f"  reference: static file p50 {pct(ref, .5):6.1f} ms   p95 {pct(ref, .95):6.1f} ms   "
              f"(same {args.markers} clients and pace, no database or template)")
        print(f"  marks lost             {lost}   recorded twice {twice}   answers over-marked {over}   "
              f"run folders disagreeing with the database {mismatched}")
        print(f"  settled mark → run folder p50 {pct(lag, .5) * 1000:6.0f} ms   p95 {pct(lag, .95) * 1000:6.0f} ms   "
              f"({len(lag)} answers written during the load; {args.models} run folders of {args.copies * 5} "
              "answers rewritten by grade import's code)")
        print(f"  database               {size_after / 1e6:.2f} MB for {n_marks} marks: "
              f"{(size_after - size_before) / max(n_marks, 1) * 1000 / 1e3:.0f} kB per 1,000 marks "
              f"(the answers themselves: {size_before / 1e3:.0f} kB)")
        print(f"  per marker             {statistics.fmean(len(m.acked) for m in markers):.1f} marks")


if __name__ == "__main__":
    main()
