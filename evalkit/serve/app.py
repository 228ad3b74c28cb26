"""The marking room's web app (Starlette): links with tokens, cookie sessions, CSRF, the screens.

Every page but ``/t/<token>`` (which opens a session) and the static files needs a session cookie
(HttpOnly, SameSite=Strict); every POST needs the session's CSRF token; anything else is 403. Model
text is rendered by :mod:`evalkit.mathtext` (escaped markdown + KaTeX with trust off) under a
Content-Security-Policy that allows no inline script, so nothing a model wrote can run.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import time
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from evalkit import mathtext
from evalkit.serve.round import Item, Round
from evalkit.serve.store import Answer, Person, StoreError, Writer

COOKIE = "evalkit_marking"
STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
TYPE_NAMES = {"single": "单项选择题", "multi": "多项选择题", "fill": "填空题", "solution": "解答题"}


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(markdown=mathtext.render_markdown, plainmath=mathtext.render_plain)
    env.globals.update(type_names=TYPE_NAMES)
    return env


class Room:
    """The app's handlers over one :class:`Round`."""

    def __init__(self, rnd: Round) -> None:
        self.round = rnd
        self.store = rnd.store  # reads, on the event loop's own connection
        self.write = Writer(rnd.db_path)  # every write of a request: one thread, batched commits
        self.env = _env()

    # -- plumbing -------------------------------------------------------------------------------------
    def page(self, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**ctx), status_code=status, headers=HEADERS)

    def who(self, request: Request, *roles: str) -> tuple[Person, str]:
        """The session's person and CSRF token; 403 without a valid session or with the wrong role."""
        found = self.store.session(request.cookies.get(COOKIE, ""))
        if found is None or (roles and found[0].role not in roles):
            raise HTTPException(403, "no valid session for this page: open your personal link")
        return found

    async def form(self, request: Request, csrf: str) -> Any:
        """The POSTed form, once its CSRF token is the session's (403 otherwise)."""
        import secrets

        form = await request.form()
        sent = str(form.get("csrf") or request.headers.get("x-csrf-token") or "")
        if not sent or not secrets.compare_digest(sent, csrf):
            raise HTTPException(403, "missing or wrong CSRF token")
        return form

    # -- sessions ---------------------------------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        person = self.store.person_by_token(request.path_params["token"])
        if person is None:
            raise HTTPException(403, "this link is not valid (ask the admin for a new one)")
        sid, _ = await self.write("new_session", person)
        response = RedirectResponse("/", status_code=303, headers={"Referrer-Policy": "no-referrer"})
        response.set_cookie(COOKIE, sid, httponly=True, samesite="strict", max_age=60 * 60 * 24 * 30, path="/")
        return response

    async def home(self, request: Request) -> Response:
        person, _ = self.who(request)
        return RedirectResponse("/admin" if person.role == "admin" else "/mark", status_code=303)

    # -- marking --------------------------------------------------------------------------------------
    async def queue(self, request: Request) -> Response:
        person, csrf = self.who(request, "marker", "arbiter")
        answer = await self.write("current", person)
        if answer is None:
            done, left = self.store.progress(person)
            return self.page("done.html", person=person, done=done, left=left, history=self.store.history(person),
                             csrf=csrf)
        return RedirectResponse(f"/mark/{answer.code}", status_code=303)

    def _answer_for(self, person: Person, code: str) -> Answer:
        answer = self.store.answer(code)
        if answer is None or not self.store.may_mark(person, answer):
            raise HTTPException(403, "this answer is not in your queue")
        return answer

    async def screen(self, request: Request) -> Response:
        person, csrf = self.who(request, "marker", "arbiter")
        answer = self._answer_for(person, request.path_params["code"])
        return self._screen(person, csrf, answer)

    def _screen(self, person: Person, csrf: str, answer: Answer, error: str | None = None,
                status: int = 200) -> HTMLResponse:
        from evalkit.grading.gaokao import possible_marks

        item = self.round.item(answer)
        mine = self.store.mark_of(person, answer)
        history = self.store.history(person)
        pos = history.index(answer.code) if answer.code in history else len(history)
        done, left = self.store.progress(person)
        values, rule = possible_marks(item.metadata, item.target, item.max_points)
        given = {int(s.get("step", 0)): s.get("points") for s in json.loads(mine["steps"])} if mine else {}
        others = [dict(m) for m in self.store.marks_of(answer.id) if person.role == "arbiter" and m["role"] == "marker"]
        halves = bool(item.metadata.get("half_marks"))

        def step_values(points: int) -> list[float]:
            return [k / 2 for k in range(2 * points + 1)] if halves else [float(k) for k in range(points + 1)]

        return self.page("mark.html", status=status, person=person, csrf=csrf, answer=answer, item=item, mine=mine,
                         step_values=step_values,
                         given=given, values=values, rule=rule, done=done, left=left, error=error, others=others,
                         prev=history[pos - 1] if pos > 0 else None,
                         next=history[pos + 1] if pos + 1 < len(history) else None, figures=range(len(item.figures)))

    async def submit(self, request: Request) -> Response:
        person, csrf = self.who(request, "marker", "arbiter")
        form = await self.form(request, csrf)
        answer = self._answer_for(person, request.path_params["code"])
        if answer.state == "arbitrated" and person.role != "arbiter":
            return self._screen(person, csrf, answer, "this answer has been settled by arbitration", 409)
        try:
            points, steps = read_mark(form, self.round.item(answer))
        except ValueError as exc:
            return self._screen(person, csrf, answer, str(exc), 400)
        await self.write("submit", person, answer, points, steps, problem=bool(form.get("problem")),
                         note=str(form.get("note") or ""))
        nxt = str(form.get("then") or "")
        target = f"/mark/{nxt}" if nxt and self.store.answer(nxt) else "/mark"
        return RedirectResponse(target, status_code=303)

    async def figure(self, request: Request) -> Response:
        person, _ = self.who(request)
        answer = self.store.answer(request.path_params["code"])
        if answer is None or (person.role != "admin" and not self.store.may_mark(person, answer)):
            raise HTTPException(403, "this answer is not in your queue")
        figures = self.round.item(answer).figures
        k = int(request.path_params["k"])
        if not 0 <= k < len(figures) or not Path(figures[k]).is_file():
            raise HTTPException(404, "no such figure")
        data = Path(figures[k]).read_bytes()
        kind = "image/png" if data[:4] == b"\x89PNG" else "image/jpeg" if data[:2] == b"\xff\xd8" else "image/gif" \
            if data[:3] == b"GIF" else "image/webp" if data[8:12] == b"WEBP" else "application/octet-stream"
        return Response(data, media_type=kind, headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private"})

    # -- admin --------------------------------------------------------------------------------------------
    async def admin(self, request: Request) -> Response:
        person, csrf = self.who(request, "admin")
        base = str(request.base_url).rstrip("/")
        links = [(p, f"{base}/t/{token}", self.store.assignments(p.id)) for p, token in self.store.links()]
        queue = [(a, [dict(m) for m in self.store.marks_of(a.id)]) for a in self.store.arbitration_queue()]
        return self.page("admin.html", person=person, csrf=csrf, links=links, quality=quality(self.store),
                         counts=self.store.counts(), queue=queue, questions=self.store.questions(),
                         mode=self.store.mode, need=self.store.markers_per_answer, message=request.query_params.get("m"))

    async def admin_post(self, request: Request) -> Response:
        _, csrf = self.who(request, "admin")
        form = await self.form(request, csrf)
        action = request.path_params["action"]
        try:
            message = await self._admin_action(action, form)
        except (StoreError, ValueError) as exc:
            message = f"error: {exc}"
        from urllib.parse import quote

        return RedirectResponse(f"/admin?m={quote(message)}", status_code=303)

    async def _admin_action(self, action: str, form: Any) -> str:
        if action == "people":
            await self.write("add_person", str(form.get("name") or ""), str(form.get("role") or "marker"))
            return f"added {form.get('name')}"
        if action == "assign":
            person = int(str(form.get("person") or 0))
            questions = [q.strip() for q in str(form.get("questions") or "").split(",") if q.strip()]
            await self.write("assign", person, questions)
            return "assignment saved"
        if action == "threshold":
            await self.write("set_threshold", str(form.get("question") or ""), float(str(form.get("threshold") or "")))
            return "threshold saved"
        if action == "arbitrate":
            await self.write("open_arbitration", str(form.get("code") or "").strip().upper())
            return "sent to arbitration"
        raise HTTPException(404, "no such admin action")

    async def export(self, request: Request) -> Response:
        self.who(request, "admin")
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["answer", "run", "model", "sample_id", "question", "marker", "role", "points", "max_points",
                         "steps", "problem", "note", "opened", "submitted", "seconds"])
        runs = self.store.runs()
        for m in self.store.all_marks():
            path, model = runs[m["run_id"]]
            writer.writerow([m["code"], path, model, m["sample_id"], m["question"], m["name"], m["role"],
                             f"{m['points']:g}", f"{m['max_points']:g}", m["steps"], m["problem"],
                             _cell(m["note"] or ""), _iso(m["claimed"]), _iso(m["submitted"]),
                             f"{m['submitted'] - m['claimed']:.1f}"])
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="marks.csv"', **HEADERS})

    async def static(self, request: Request) -> Response:
        name = request.path_params["path"]
        if name in ("room.css", "room.js"):
            kind = "text/css" if name.endswith(".css") else "text/javascript"
            return Response((STATIC / name).read_bytes(), media_type=f"{kind}; charset=utf-8")
        found = mathtext.asset(name)
        if found is None:
            raise HTTPException(404, "not found")
        return Response(found[0], media_type=found[1], headers={"Cache-Control": "max-age=86400"})


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(ts))


def _cell(text: str) -> str:
    """A spreadsheet cell that cannot be read as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def read_mark(form: Any, item: Item) -> tuple[float, list[dict[str, Any]]]:
    """The mark a form gives: the rubric steps' points (each within its step), or a total; checked against
    what the item can give (:func:`evalkit.grading.gaokao.mark_problem`)."""
    from evalkit.grading.gaokao import mark_problem

    steps: list[dict[str, Any]] = []
    if item.rubric:
        for k, step in enumerate(item.rubric, 1):
            raw = str(form.get(f"step{k}") or "").strip()
            if raw == "":
                raise ValueError(f"step {k} has no mark yet")
            pts = _number(raw, f"step {k}")
            unit = 0.5 if item.metadata.get("half_marks") else 1.0
            if not 0 <= pts <= float(step.get("points", 0)) or (pts / unit) != int(pts / unit):
                kind = "whole or half" if unit < 1 else "whole"
                raise ValueError(f"step {k}: {raw} is not {kind} points from 0 to {step.get('points')}")
            steps.append({"step": k, "points": pts if pts != int(pts) else int(pts), "max": step.get("points")})
        total = float(sum(s["points"] for s in steps))
    else:
        raw = str(form.get("total") or "").strip()
        if raw == "":
            raise ValueError("give a mark")
        total = _number(raw, "the mark")
    problem = mark_problem(item.metadata, item.target, item.max_points, total)
    if problem:
        raise ValueError(problem)
    return total, steps


def _number(raw: str, what: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{what}: {raw!r} is not a number") from None


def quality(store: Any) -> list[dict[str, Any]]:
    """Per person: marks, time per answer, mean mark against the other marker's, agreement, arbitrations."""
    rows = store.all_marks()
    by_answer: dict[int, list[Any]] = {}
    for m in rows:
        by_answer.setdefault(m["answer_id"], []).append(m)
    states = {r["id"]: r["state"] for r in store.db.execute("SELECT id, state FROM answers")}
    out = []
    for person in store.people():
        mine = [m for m in rows if m["person_id"] == person.id]
        if person.role == "admin" and not mine:
            continue
        diffs, agree = [], []
        for m in mine:
            others = [o for o in by_answer[m["answer_id"]] if o["person_id"] != person.id and o["role"] == "marker"]
            if m["role"] == "marker" and others:
                other = others[0]
                diffs.append(m["points"] - other["points"])
                agree.append(abs(m["points"] - other["points"]) <= m["threshold"])
        times = [m["submitted"] - m["claimed"] for m in mine]
        out.append({"name": person.name, "role": person.role, "n": len(mine),
                    "seconds": statistics.median(times) if times else None,
                    "mean": statistics.fmean(m["points"] for m in mine) if mine else None,
                    "vs_other": statistics.fmean(diffs) if diffs else None, "paired": len(diffs),
                    "agreement": sum(agree) / len(agree) if agree else None,
                    "arbitration": sum(1 for m in mine if states.get(m["answer_id"]) in ("arbitration", "arbitrated")),
                    "problems": sum(1 for m in mine if m["problem"])})
    return out


async def _forbidden(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    detail = getattr(exc, "detail", "error")
    body = (f"<!doctype html><meta charset=utf-8><title>{status}</title><p>{_escape(str(detail))}</p>")
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def create_app(rnd: Round) -> Starlette:
    """The ASGI app of a round; the writer thread runs while the app does."""
    from contextlib import asynccontextmanager

    room = Room(rnd)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        rnd.start_writer()
        try:
            yield
        finally:
            room.write.close()
            rnd.stop_writer()

    routes = [
        Route("/", room.home), Route("/t/{token}", room.login), Route("/mark", room.queue),
        Route("/mark/{code}", room.screen, methods=["GET"]), Route("/mark/{code}", room.submit, methods=["POST"]),
        Route("/figure/{code}/{k:int}", room.figure), Route("/admin", room.admin),
        Route("/admin/marks.csv", room.export), Route("/admin/{action}", room.admin_post, methods=["POST"]),
        Route("/static/{path:path}", room.static),
    ]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _forbidden})
