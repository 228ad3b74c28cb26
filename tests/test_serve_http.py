"""The marking room over real HTTP: access control (403s), and a server killed mid-round loses nothing."""

from __future__ import annotations

import http.client
import http.cookiejar
import re
import shutil
import signal
import sqlite3
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from marking import Server, paper_run, samples

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")


class Client:
    """One browser's worth of cookies, following redirects like a browser."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
        url = path if path.startswith("http") else self.base + path
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(url, body, timeout=30) as resp:
                return resp.status, resp.read().decode(), resp.url
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), url

    def form(self, html: str) -> tuple[str, str, list[tuple[int, int]]]:
        """(answer code, CSRF token, [(step, max points)]) of a marking screen."""
        code = re.search(r'id="code">(\w+)<', html)
        csrf = re.search(r'name="csrf" value="([^"]+)"', html)
        assert code and csrf, html[:500]
        steps = [(int(k), int(m)) for k, m in re.findall(r'data-step="(\d+)" data-max="(\d+)"', html)]
        return code.group(1), csrf.group(1), steps


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("runs")
    return [paper_run(root / "ref", "reference"), paper_run(root / "rnd", "random:1")]


@pytest.fixture
def fresh(runs: list[Path], tmp_path: Path) -> list[Path]:
    for run in runs:
        shutil.copytree(run, tmp_path / run.name)
    return [tmp_path / r.name for r in runs]


def test_without_a_token_with_another_markers_token_or_without_csrf_it_is_403(fresh, tmp_path) -> None:
    with Server(fresh, tmp_path / "r.sqlite") as srv:
        anon = Client(srv.url)
        for path in ("/", "/mark", "/admin", "/admin/marks.csv", "/t/not-a-token"):
            assert anon.request(path)[0] == 403, path
        assert anon.request("/admin/people", {"name": "x", "role": "admin"})[0] == 403

        a, b = Client(srv.url), Client(srv.url)
        status, html, url = a.request(srv.links["王老师"])
        assert status == 200 and "/mark/" in url and "reference" not in html and "random" not in html
        code, csrf, steps = a.form(html)
        marks = {f"step{k}": "0" for k, _ in steps}
        assert a.request(f"/mark/{code}", marks)[0] == 403  # no CSRF token
        assert a.request(f"/mark/{code}", {**marks, "csrf": "forged"})[0] == 403
        assert a.request("/admin")[0] == 403  # a marker is not an admin

        status, html_b, _ = b.request(srv.links["李老师"])
        other = b.form(html_b)[1]
        assert a.request(f"/mark/{code}", {**marks, "csrf": other})[0] == 403  # another session's token
        c = Client(srv.url)
        c.request(srv.links["张组长"])
        assert c.request(f"/mark/{code}")[0] == 403  # not in arbitration: not the arbiter's
        assert a.request(f"/mark/{code}", {**marks, "csrf": csrf})[0] == 200  # and now it is accepted
        admin = Client(srv.url)
        assert admin.request(srv.links["admin"])[2].endswith("/admin")
        assert admin.request(f"/mark/{code}")[0] == 403  # the admin sees quality, not the marking screen
        assert srv.stop(signal.SIGTERM) is not None  # SIGTERM to the process group (timeout, systemd): it ends


def test_a_mark_the_item_cannot_give_is_refused_on_the_screen(fresh, tmp_path) -> None:
    with Server(fresh, tmp_path / "r.sqlite") as srv:
        a = Client(srv.url)
        _, html, _ = a.request(srv.links["王老师"])
        code, csrf, steps = a.form(html)
        k, mx = steps[0]
        status, page, _ = a.request(f"/mark/{code}", {"csrf": csrf, f"step{k}": str(mx + 1),
                                                      **{f"step{j}": "0" for j, _ in steps[1:]}})
        assert status == 400 and f"step {k}: {mx + 1} is not whole points from 0 to {mx}" in page
    assert sqlite3.connect(tmp_path / "r.sqlite").execute("SELECT count(*) FROM marks").fetchone()[0] == 0


def _mark_until(client: Client, srv: Server, acked: list[tuple[str, str, int]], name: str, stop: threading.Event,
                first: int) -> None:
    """Mark this marker's queue (``first`` points on step 1, one on the others: the two markers stay within
    the threshold), recording each mark the server acknowledged (303 → the next screen)."""
    status, html, url = client.request("/mark")
    while not stop.is_set() and status == 200 and "/mark/" in url:
        code, csrf, steps = client.form(html)
        given = {k: min(first if k == 1 else 1, m) for k, m in steps}
        data = {"csrf": csrf, **{f"step{k}": str(v) for k, v in given.items()}}
        try:
            status, html, url = client.request(f"/mark/{code}", data)
        except (OSError, http.client.HTTPException):  # refused, reset, or a reply cut short (IncompleteRead)
            return  # the server died mid-request: this mark was never acknowledged
        if status == 200:
            acked.append((name, code, sum(given.values())))


def test_killing_the_server_mid_round_loses_no_mark_and_records_none_twice(fresh, tmp_path) -> None:
    db = tmp_path / "r.sqlite"
    acked: list[tuple[str, str, int]] = []
    srv = Server(fresh, db).start()
    clients = {name: Client(srv.url) for name in ("王老师", "李老师")}
    for name, client in clients.items():
        client.request(srv.links[name])
    stop = threading.Event()
    threads = [threading.Thread(target=_mark_until, args=(c, srv, acked, n, stop, 1 if n == "王老师" else 2))
               for n, c in clients.items()]
    for t in threads:
        t.start()
    while len(acked) < 7 and any(t.is_alive() for t in threads):
        threading.Event().wait(0.02)
    srv.kill()  # SIGKILL in the middle of marking
    for t in threads:
        t.join(timeout=60)
    assert 7 <= len(acked) < 20
    conn = sqlite3.connect(db)
    recorded = {(n, c): p for n, c, p in conn.execute(
        "SELECT p.name, a.code, m.points FROM marks m JOIN people p ON p.id=m.person_id JOIN answers a ON a.id=m.answer_id")}
    assert all(recorded.get((n, c)) == p for n, c, p in acked)  # every acknowledged mark is there
    conn.close()

    again = Server(fresh, db)
    again.port = srv.port  # the same links keep working after a restart
    again.start()
    try:
        for name, client in clients.items():  # the session cookies survive the restart: each resumes
            _mark_until(client, again, acked, name, threading.Event(), 1 if name == "王老师" else 2)
    finally:
        stopped = again.stop()  # Ctrl+C: a clean stop writes every settled answer into the runs
    assert stopped == 0, "".join(again.output)
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT answer_id, person_id, count(*) FROM marks GROUP BY answer_id, person_id").fetchall()
    assert len(rows) == 20 and all(n == 1 for *_, n in rows)  # 10 answers × 2 markers, none twice
    assert {r[0] for r in conn.execute("SELECT state FROM answers")} == {"done"}
    for run in fresh:
        for s in samples(run).values():
            humans = [m for m in s["score"]["details"]["marks"] if m["grader"] == "human"]
            assert sorted(m["marker"] for m in humans) == ["李老师", "王老师"], s["id"]
            assert s["score"]["grader"] == "human"
            assert s["score"]["points"] == sum(m["points"] for m in humans) / 2
