"""The marking round's state: one SQLite database (WAL) beside the runs, every mark committed as given.

It owns who takes part (people with hashed tokens, their cookie sessions and CSRF tokens), the
answers of the round (anonymised codes in a shuffled order, never the model's name on a marker's
screen), which questions each marker marks, the claims that hand each answer to two different
markers, the marks themselves, and which answers wait for arbitration. How marks reconcile is the
grading room's rule (:func:`evalkit.grading.gaokao.double_marking`), not this module's.

Each answer carries a ``version`` (bumped by every mark) and the version last ``written`` into its run
folder, so a mark given just before a crash is written when the server starts again.
"""

from __future__ import annotations

import json
import random
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.grading.gaokao import double_marking

ROLES = ("admin", "marker", "arbiter")
MODES = ("arbiter", "third")  # beyond the threshold: straight to an arbiter, or a third marker first
CLAIM_TTL_S = 20 * 60  # an answer opened but not marked goes back to the pool after this long

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, model TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS questions (
  key TEXT PRIMARY KEY, position INTEGER NOT NULL, paper TEXT, number TEXT, type TEXT,
  max_points REAL NOT NULL, threshold REAL NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), sample_id TEXT NOT NULL,
  question TEXT NOT NULL REFERENCES questions(key), code TEXT UNIQUE NOT NULL, qpos INTEGER NOT NULL,
  pos INTEGER NOT NULL, need INTEGER NOT NULL DEFAULT 2, takers INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'open', version INTEGER NOT NULL DEFAULT 0, written INTEGER NOT NULL DEFAULT 0,
  written_at REAL, UNIQUE (run_id, sample_id));
CREATE TABLE IF NOT EXISTS people (
  id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, role TEXT NOT NULL, token TEXT UNIQUE NOT NULL,
  created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, person_id INTEGER NOT NULL, csrf TEXT NOT NULL,
  created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS assignments (person_id INTEGER NOT NULL, question TEXT NOT NULL,
  PRIMARY KEY (person_id, question));
CREATE TABLE IF NOT EXISTS claims (answer_id INTEGER NOT NULL, person_id INTEGER NOT NULL, claimed REAL NOT NULL,
  PRIMARY KEY (answer_id, person_id));
CREATE TABLE IF NOT EXISTS marks (
  id INTEGER PRIMARY KEY, answer_id INTEGER NOT NULL, person_id INTEGER NOT NULL, role TEXT NOT NULL,
  points REAL NOT NULL, steps TEXT NOT NULL DEFAULT '[]', problem INTEGER NOT NULL DEFAULT 0, note TEXT,
  claimed REAL NOT NULL, submitted REAL NOT NULL, UNIQUE (answer_id, person_id));
CREATE INDEX IF NOT EXISTS answers_free ON answers (qpos, pos) WHERE state='open' AND takers < need;
CREATE INDEX IF NOT EXISTS answers_dirty ON answers (id) WHERE version > written;
CREATE INDEX IF NOT EXISTS claims_person ON claims (person_id, claimed);
CREATE INDEX IF NOT EXISTS marks_person ON marks (person_id, submitted);
"""


class StoreError(EvalkitError):
    """A marking-round database or request that cannot be honoured (one sentence)."""


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: str


@dataclass(frozen=True)
class Answer:
    id: int
    run_id: int
    sample_id: str
    question: str
    code: str
    need: int
    state: str
    max_points: float
    threshold: float
    number: str


@dataclass(frozen=True)
class AnswerSpec:
    """One answer to put into the round: its run folder, sample and question."""

    run_path: str
    model: str
    sample_id: str
    question: str
    paper: str
    number: str
    type: str
    max_points: float
    threshold: float


class Store:
    """The round's database. One connection; callers serialise access (the app runs on one event loop)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.path}: cannot open the marking database ({exc})") from None
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # a mark's own commit is FULL (see submit)
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        self._swept = 0.0
        self._in_batch = False

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction (``BEGIN IMMEDIATE``: writers queue instead of failing); inside a
        :class:`Writer` batch, part of the batch's transaction."""
        if self._in_batch:
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- settings and the round's answers ------------------------------------------------------------
    def setting(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return row["value"] if row else default

    def set_setting(self, key: str, value: Any) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO settings VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                       (key, str(value)))

    @property
    def markers_per_answer(self) -> int:
        return int(self.setting("markers", "2") or 2)

    @property
    def mode(self) -> str:
        return self.setting("mode", "arbiter") or "arbiter"

    def add_answers(self, specs: Sequence[AnswerSpec]) -> int:
        """Put answers into the round (idempotent: an answer already there keeps its code and marks)."""
        seed = self.setting("seed")
        if seed is None:
            seed = secrets.token_hex(8)
            self.set_setting("seed", seed)
        rng = random.Random(seed)
        added = 0
        with self.tx() as db:
            positions = {r["key"]: r["position"] for r in db.execute("SELECT key, position FROM questions")}
            for spec in specs:
                run_id = self._run_id(db, spec.run_path, spec.model)
                if spec.question not in positions:
                    positions[spec.question] = len(positions)
                    db.execute("INSERT INTO questions VALUES (?, ?, ?, ?, ?, ?, ?)",
                               (spec.question, positions[spec.question], spec.paper, spec.number, spec.type,
                                spec.max_points, spec.threshold))
                if db.execute("SELECT 1 FROM answers WHERE run_id=? AND sample_id=?",
                              (run_id, spec.sample_id)).fetchone():
                    continue
                code = self._new_code(db)
                db.execute("INSERT INTO answers (run_id, sample_id, question, code, qpos, pos, need) "
                           "VALUES (?,?,?,?,?,?,?)", (run_id, spec.sample_id, spec.question, code,
                                                      positions[spec.question], rng.randrange(1 << 30),
                                                      self.markers_per_answer))
                added += 1
        return added

    @staticmethod
    def _run_id(db: sqlite3.Connection, path: str, model: str) -> int:
        row = db.execute("SELECT id FROM runs WHERE path=?", (path,)).fetchone()
        if row:
            return int(row["id"])
        return int(db.execute("INSERT INTO runs (path, model) VALUES (?, ?)", (path, model)).lastrowid or 0)

    @staticmethod
    def _new_code(db: sqlite3.Connection) -> str:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        while True:
            code = "".join(secrets.choice(alphabet) for _ in range(6))
            if not db.execute("SELECT 1 FROM answers WHERE code=?", (code,)).fetchone():
                return code

    def runs(self) -> dict[int, tuple[str, str]]:
        return {r["id"]: (r["path"], r["model"]) for r in self.db.execute("SELECT * FROM runs")}

    def questions(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM questions ORDER BY position").fetchall()

    def set_threshold(self, question: str, threshold: float) -> None:
        if threshold < 0:
            raise StoreError(f"threshold {threshold:g}: must be 0 or more points")
        with self.tx() as db:
            if not db.execute("UPDATE questions SET threshold=? WHERE key=?", (threshold, question)).rowcount:
                raise StoreError(f"question {question!r} is not in this round")
            for row in db.execute("SELECT id FROM answers WHERE question=?", (question,)).fetchall():
                self._settle(db, int(row["id"]))

    # -- people, tokens, sessions --------------------------------------------------------------------
    def add_person(self, name: str, role: str) -> str:
        """A new person with a fresh token (their link; the database is as secret as the links it prints)."""
        name = name.strip()
        if role not in ROLES:
            raise StoreError(f"role {role!r}: allowed: {', '.join(ROLES)}")
        if not name or len(name) > 60:
            raise StoreError("a person's name must be 1 to 60 characters")
        token = secrets.token_urlsafe(24)
        with self.tx() as db:
            if db.execute("SELECT 1 FROM people WHERE name=?", (name,)).fetchone():
                raise StoreError(f"there is already a person called {name!r} in this round")
            db.execute("INSERT INTO people (name, role, token, created) VALUES (?, ?, ?, ?)",
                       (name, role, token, time.time()))
        return token

    def new_token(self, person_id: int) -> str:
        """A fresh token for an existing person (the old link stops working)."""
        token = secrets.token_urlsafe(24)
        with self.tx() as db:
            db.execute("UPDATE people SET token=? WHERE id=?", (token, person_id))
            db.execute("DELETE FROM sessions WHERE person_id=?", (person_id,))
        return token

    def people(self) -> list[Person]:
        return [Person(r["id"], r["name"], r["role"]) for r in self.db.execute("SELECT * FROM people ORDER BY id")]

    def links(self) -> list[tuple[Person, str]]:
        """Everyone with their token, for printing their links."""
        rows = self.db.execute("SELECT * FROM people ORDER BY id").fetchall()
        return [(Person(r["id"], r["name"], r["role"]), r["token"]) for r in rows]

    def person_by_token(self, token: str) -> Person | None:
        row = self.db.execute("SELECT * FROM people WHERE token=?", (token,)).fetchone()
        return Person(row["id"], row["name"], row["role"]) if row else None

    def person(self, person_id: int) -> Person | None:
        row = self.db.execute("SELECT * FROM people WHERE id=?", (person_id,)).fetchone()
        return Person(row["id"], row["name"], row["role"]) if row else None

    def new_session(self, person: Person) -> tuple[str, str]:
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.tx() as db:
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (sid, person.id, csrf, time.time()))
        return sid, csrf

    def session(self, sid: str) -> tuple[Person, str] | None:
        row = self.db.execute("SELECT p.id, p.name, p.role, s.csrf FROM sessions s JOIN people p ON p.id=s.person_id "
                              "WHERE s.id=?", (sid,)).fetchone()
        return (Person(row["id"], row["name"], row["role"]), row["csrf"]) if row else None

    def assign(self, person_id: int, questions: Sequence[str]) -> None:
        """The questions a marker marks (none: every question)."""
        known = {q["key"] for q in self.questions()}
        unknown = [q for q in questions if q not in known]
        if unknown:
            raise StoreError(f"question(s) {unknown} are not in this round")
        with self.tx() as db:
            db.execute("DELETE FROM assignments WHERE person_id=?", (person_id,))
            db.executemany("INSERT INTO assignments VALUES (?, ?)", [(person_id, q) for q in questions])

    def assignments(self, person_id: int) -> list[str]:
        return [r["question"] for r in self.db.execute("SELECT question FROM assignments WHERE person_id=?",
                                                        (person_id,))]

    # -- answers ----------------------------------------------------------------------------------------
    _ANSWER = ("SELECT a.*, q.max_points, q.threshold, q.number FROM answers a JOIN questions q ON q.key=a.question ")

    @staticmethod
    def _answer(row: sqlite3.Row) -> Answer:
        return Answer(row["id"], row["run_id"], row["sample_id"], row["question"], row["code"], row["need"],
                      row["state"], row["max_points"], row["threshold"], str(row["number"] or ""))

    def answer(self, code: str) -> Answer | None:
        row = self.db.execute(self._ANSWER + "WHERE a.code=?", (code,)).fetchone()
        return self._answer(row) if row else None

    def answer_by_id(self, answer_id: int) -> Answer:
        return self._answer(self.db.execute(self._ANSWER + "WHERE a.id=?", (answer_id,)).fetchone())

    def _open_for(self, db: sqlite3.Connection, person: Person) -> list[int]:
        """The answer this marker may take next, in queue order: their questions, still needed, not yet theirs."""
        questions = self.assignments(person.id)
        where = f"AND a.question IN ({','.join('?' * len(questions))}) " if questions else ""
        sql = (f"SELECT a.id FROM answers a WHERE a.state='open' AND a.takers < a.need {where}"
               "AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.answer_id=a.id AND c.person_id=?) "
               "ORDER BY a.qpos, a.pos LIMIT 1")
        return [r[0] for r in db.execute(sql, (*questions, person.id))]

    def _release_stale(self, db: sqlite3.Connection, now: float) -> None:
        """Claims opened but not marked within the time limit go back to the pool (checked every 30 s)."""
        if now - self._swept < 30:
            return
        self._swept = now
        stale = db.execute("SELECT answer_id, person_id FROM claims c WHERE c.claimed < ? AND NOT EXISTS (SELECT 1 "
                           "FROM marks m WHERE m.answer_id=c.answer_id AND m.person_id=c.person_id)",
                           (now - CLAIM_TTL_S,)).fetchall()
        for row in stale:
            db.execute("DELETE FROM claims WHERE answer_id=? AND person_id=?", (row["answer_id"], row["person_id"]))
            db.execute("UPDATE answers SET takers=max(0, takers-1) WHERE id=?", (row["answer_id"],))

    def current(self, person: Person) -> Answer | None:
        """The answer this marker is on: an open claim of theirs, else a new claim (None: queue done)."""
        now = time.time()
        if person.role == "arbiter":
            queue = self.arbitration_queue()
            if queue:  # when the arbiter first saw it (their time per answer)
                with self.tx() as db:
                    db.execute("INSERT OR IGNORE INTO claims VALUES (?, ?, ?)", (queue[0].id, person.id, now))
            return queue[0] if queue else None
        with self.tx() as db:
            self._release_stale(db, now)
            row = db.execute("SELECT c.answer_id FROM claims c JOIN answers a ON a.id=c.answer_id WHERE c.person_id=? "
                             "AND a.state='open' AND NOT EXISTS (SELECT 1 FROM marks m WHERE "
                             "m.answer_id=c.answer_id AND m.person_id=c.person_id) ORDER BY c.claimed LIMIT 1",
                             (person.id,)).fetchone()
            if row:
                return self.answer_by_id(int(row["answer_id"]))
            ids = self._open_for(db, person)
            if not ids:
                return None
            db.execute("INSERT INTO claims VALUES (?, ?, ?)", (ids[0], person.id, now))
            db.execute("UPDATE answers SET takers=takers+1 WHERE id=?", (ids[0],))
        return self.answer_by_id(ids[0])

    def may_mark(self, person: Person, answer: Answer) -> bool:
        """A marker marks only answers they were handed; an arbiter only answers in arbitration."""
        if person.role == "arbiter":
            return answer.state in ("arbitration", "arbitrated")
        if person.role != "marker":
            return False
        return self.db.execute("SELECT 1 FROM claims WHERE answer_id=? AND person_id=?",
                               (answer.id, person.id)).fetchone() is not None

    def progress(self, person: Person) -> tuple[int, int]:
        """(answers this person has marked, answers still waiting for them)."""
        done = self.db.execute("SELECT count(*) FROM marks WHERE person_id=?", (person.id,)).fetchone()[0]
        if person.role == "arbiter":
            return done, len(self.arbitration_queue())
        questions = self.assignments(person.id)
        where = f"AND a.question IN ({','.join('?' * len(questions))}) " if questions else ""
        free = self.db.execute(f"SELECT count(*) FROM answers a WHERE a.state='open' AND a.takers < a.need {where}",
                               questions).fetchone()[0]  # the queue index alone
        mine = self.db.execute(f"SELECT count(*) FROM claims c JOIN answers a ON a.id=c.answer_id WHERE c.person_id=? "
                               f"AND a.state='open' AND a.takers < a.need {where}", (person.id, *questions)).fetchone()[0]
        left = int(free) - int(mine)  # free answers not already taken by this marker
        pending = self.db.execute("SELECT count(*) FROM claims c WHERE c.person_id=? AND NOT EXISTS (SELECT 1 FROM "
                                  "marks m WHERE m.answer_id=c.answer_id AND m.person_id=c.person_id)",
                                  (person.id,)).fetchone()[0]
        return int(done), left + int(pending)

    def history(self, person: Person) -> list[str]:
        """Codes of the answers this person marked, oldest first (for previous / next)."""
        return [r["code"] for r in self.db.execute("SELECT a.code FROM marks m JOIN answers a ON a.id=m.answer_id "
                                                   "WHERE m.person_id=? ORDER BY m.submitted, m.id", (person.id,))]

    def claimed_at(self, person: Person, answer: Answer) -> float:
        row = self.db.execute("SELECT claimed FROM claims WHERE answer_id=? AND person_id=?",
                              (answer.id, person.id)).fetchone()
        return float(row["claimed"]) if row else time.time()

    # -- marks ------------------------------------------------------------------------------------------
    def submit(self, person: Person, answer: Answer, points: float, steps: Sequence[dict[str, Any]],
               problem: bool = False, note: str = "", claimed: float | None = None) -> str:
        """Record (or replace) this person's mark on ``answer`` and settle the answer; returns its new state."""
        role = "arbiter" if person.role == "arbiter" else "marker"
        now = time.time()
        if self._in_batch:  # the Writer commits the batch with synchronous=FULL
            return self._submit(answer, person, role, points, steps, problem, note, claimed, now)
        self.db.execute("PRAGMA synchronous=FULL")  # a given mark survives a power cut, not only a crash
        try:
            return self._submit(answer, person, role, points, steps, problem, note, claimed, now)
        finally:
            self.db.execute("PRAGMA synchronous=NORMAL")

    def _submit(self, answer: Answer, person: Person, role: str, points: float, steps: Sequence[dict[str, Any]],
                problem: bool, note: str, claimed: float | None, now: float) -> str:
        with self.tx() as db:
            db.execute(
                "INSERT INTO marks (answer_id, person_id, role, points, steps, problem, note, claimed, submitted) "
                "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(answer_id, person_id) DO UPDATE SET points=excluded.points, "
                "steps=excluded.steps, problem=excluded.problem, note=excluded.note, submitted=excluded.submitted",
                (answer.id, person.id, role, points, json.dumps(list(steps), ensure_ascii=False), int(problem),
                 note[:2000] or None, claimed or self.claimed_at(person, answer), now))
            return self._settle(db, answer.id)

    def _settle(self, db: sqlite3.Connection, answer_id: int) -> str:
        """Recompute an answer's state from its marks (the grading room's double-marking rule)."""
        ans = self._answer(db.execute(self._ANSWER + "WHERE a.id=?", (answer_id,)).fetchone())
        marks = db.execute("SELECT role, points FROM marks WHERE answer_id=? ORDER BY submitted, id",
                           (answer_id,)).fetchall()
        markers = [float(m["points"]) for m in marks if m["role"] == "marker"]
        need = self.markers_per_answer
        if any(m["role"] == "arbiter" for m in marks):
            state = "arbitrated"
        elif ans.state == "arbitration" and len(markers) >= need:
            state = "arbitration"  # opened by the admin, or still beyond the threshold
        elif len(markers) < need:
            state = "open"
        else:
            _, _, flagged = double_marking(markers[-3:] if len(markers) > 2 else markers, ans.threshold)
            if not flagged:
                state = "done"
            elif self.mode == "third" and len(markers) == need == 2:
                state, need = "open", 3
            else:
                state = "arbitration"
        if len(markers) >= 3:
            need = max(need, 3)
        db.execute("UPDATE answers SET state=?, need=?, version=version+1 WHERE id=?", (state, need, answer_id))
        return state

    def open_arbitration(self, code: str) -> None:
        """The admin sends an answer to the arbitration queue whatever its marks."""
        ans = self.answer(code)
        if ans is None:
            raise StoreError(f"answer {code!r} is not in this round")
        with self.tx() as db:
            db.execute("UPDATE answers SET state='arbitration' WHERE id=? AND state != 'arbitrated'", (ans.id,))

    def arbitration_queue(self) -> list[Answer]:
        rows = self.db.execute(self._ANSWER + "WHERE a.state='arbitration' ORDER BY q.position, a.pos").fetchall()
        return [self._answer(r) for r in rows]

    def marks_of(self, answer_id: int) -> list[sqlite3.Row]:
        return self.db.execute("SELECT m.*, p.name FROM marks m JOIN people p ON p.id=m.person_id WHERE m.answer_id=? "
                               "ORDER BY m.submitted, m.id", (answer_id,)).fetchall()

    def mark_of(self, person: Person, answer: Answer) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM marks WHERE answer_id=? AND person_id=?",
                               (answer.id, person.id)).fetchone()

    # -- the run-folder writer's view -------------------------------------------------------------------
    def dirty(self) -> list[tuple[Answer, int]]:
        """Answers whose marks changed since they were last written into their run folder, with their version."""
        rows = self.db.execute(self._ANSWER + "WHERE a.version > a.written").fetchall()
        return [(self._answer(r), int(r["version"])) for r in rows]

    def mark_written(self, versions: dict[int, int], settled: Sequence[int] = ()) -> None:
        """Record the versions now in the run folders (``settled``: answers whose marks were written just now)."""
        now = time.time()
        with self.tx() as db:
            db.executemany("UPDATE answers SET written=max(written, ?) WHERE id=?",
                           [(v, k) for k, v in versions.items()])
            db.executemany("UPDATE answers SET written_at=? WHERE id=?", [(now, k) for k in settled])

    # -- quality ------------------------------------------------------------------------------------------
    def all_marks(self) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT m.*, p.name, p.role AS person_role, a.code, a.sample_id, a.question, a.run_id, q.number, "
            "q.max_points, q.threshold FROM marks m JOIN people p ON p.id=m.person_id JOIN answers a ON "
            "a.id=m.answer_id JOIN questions q ON q.key=a.question ORDER BY m.submitted, m.id").fetchall()

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT state, count(*) AS n FROM answers GROUP BY state").fetchall()
        return {r["state"]: int(r["n"]) for r in rows}


class Writer:
    """The round's one writer: claims and marks from every request, committed together in batches.

    Requests hand their writes to this thread and await the result, so the event loop never waits on a
    lock or a disk flush, and marks arriving together share one transaction and one fsync (group commit;
    ``synchronous=FULL`` whenever the batch holds a mark). Each write runs in its own savepoint: one
    failing write fails alone. Reads stay on the app's own connection (WAL: readers never wait).
    """

    BATCH = 256

    def __init__(self, path: Path) -> None:
        import queue
        import threading

        self.store = Store(path)
        self.store._in_batch = True
        # checkpoints (copying the log into the database, with their own flushes) are not done on the
        # request path: the run-folder writer's process does them (evalkit.serve.round.flush_forever)
        self.store.db.execute("PRAGMA wal_autocheckpoint=0")
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="evalkit-marking-writer", daemon=True)
        self._thread.start()

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """A ``concurrent.futures.Future`` of ``Store.<name>(*args)`` run in the batch."""
        from concurrent.futures import Future

        fut: Future[Any] = Future()
        self._queue.put((name, args, kwargs, fut))
        return fut

    async def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        import asyncio

        return await asyncio.wrap_future(self.call(name, *args, **kwargs))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)
        self.store.close()

    def _loop(self) -> None:
        import queue

        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self.BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
            self._commit(batch)

    def _commit(self, batch: list[Any]) -> None:
        db = self.store.db
        durable = any(name == "submit" for name, *_ in batch)
        db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        outcomes: list[tuple[Any, Any, BaseException | None]] = []
        db.execute("BEGIN IMMEDIATE")
        for name, args, kwargs, fut in batch:
            db.execute("SAVEPOINT one")
            try:
                result = getattr(self.store, name)(*args, **kwargs)
                db.execute("RELEASE one")
                outcomes.append((fut, result, None))
            except Exception as exc:  # handed back to the request that asked, whatever it was
                db.execute("ROLLBACK TO one")
                db.execute("RELEASE one")
                outcomes.append((fut, None, exc))
        try:
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            db.execute("ROLLBACK")
            outcomes = [(fut, None, exc) for fut, _, _ in outcomes]
        for fut, result, exc in outcomes:
            if exc is not None:
                fut.set_exception(exc)
            else:
                fut.set_result(result)
