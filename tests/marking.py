"""Helpers for the marking-room tests: paper runs to mark, and a real `evalkit grade serve` process."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import REPO

from evalkit.adapters import make_adapter
from evalkit.runner import RunConfig, run_sync
from evalkit.tasks import get_task

HOSTILE = ("<script>window.__pwned = 1</script> <img src=x onerror=\"window.__pwned = 2\"> "
           "[click me](javascript:window.__pwned=3) <a href=\"javascript:window.__pwned=4\">link</a> "
           "$\\href{javascript:window.__pwned=5}{\\text{math link}}$ and $\\url{javascript:window.__pwned=6}$")


def paper_run(out: Path, model: str = "reference") -> Path:
    """A finished run of the built-in Gaokao paper (solutions only, to keep rounds small)."""
    ids = [s.id for s in get_task("gaokao-math").samples if s.metadata["type"] == "solution"]
    run_sync(get_task("gaokao-math"), make_adapter(model), RunConfig(output=out, progress=False, use_cache=False,
                                                                      ids=ids))
    return out


def samples(run: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in (run / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    return {r["id"]: r for r in rows}


def set_response(run: Path, number: int, text: str) -> None:
    """Put ``text`` as the model's answer to question ``number`` (a hostile answer, say)."""
    rows = list(samples(run).values())
    for r in rows:
        if r["metadata"]["number"] == number:
            r["response"] = text
    (run / "samples.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                       encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``evalkit grade serve`` in a subprocess; ``links`` maps each person's name to their link."""

    def __init__(self, runs: list[Path], db: Path, *extra: str, people: tuple[str, ...] = (
            "--marker", "王老师", "--marker", "李老师", "--arbiter", "张组长")) -> None:
        self.args = [sys.executable, "-m", "evalkit.cli", "grade", "serve", *map(str, runs), "--db", str(db),
                     *people, *extra]
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.links: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([*self.args, "--port", str(self.port)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 60
        while not self._listening():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                time.sleep(0.2)
                raise RuntimeError("evalkit grade serve did not start:\n" + "".join(self.output))
            time.sleep(0.1)
        for line in list(self.output):
            m = re.match(r"\s+\w+\s+(.+?): (http://\S+)", line)
            if m:
                self.links[m.group(1)] = m.group(2)
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def _listening(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def kill(self) -> None:
        """SIGKILL: no chance to flush or close anything."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self, sig: int = signal.SIGINT) -> int | None:
        """Ctrl+C as a terminal sends it (SIGINT), or a service manager's SIGTERM, to the whole process
        group. Returns the exit code, None when the server had to be killed after 60 s."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                return self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
                return None
        return self.proc.returncode if self.proc else None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
