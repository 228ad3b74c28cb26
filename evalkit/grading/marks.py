"""Teachers' marks files: the one reader, for the human graders and ``evalkit grade import``.

A marks file gives sample ids a mark and, optionally, who marked them:

* CSV with the columns ``id`` and ``mark`` (as ``evalkit grade export`` writes; a ``points`` column is
  read as the mark when there is no ``mark``) and optionally ``marker``. A cell a spreadsheet would
  take for a formula is written with a leading ``'`` (:func:`csv_cell`); reading removes it again.
* JSON: an object of id → mark (a number, or a number as text) or id → ``{"mark": …, "marker": …}``,
  or a list of ``{"id": …, "mark": …, "marker": …}`` rows (again ``points`` for ``mark``).

A CSV is read as UTF-8 (a BOM is fine) or, failing that, as GBK (what a Chinese spreadsheet saves as "CSV");
a workbook (.xlsx) is an error saying to save it as CSV. One row per item: the same id again with another
mark or marker is an error naming both rows (a second marker's marks go in a file of their own).
An empty mark means "not marked yet" (``MarkRow.mark is None``). Anything else that is not a number,
a file that cannot be read, or a CSV without the columns is a :class:`~evalkit.errors.MarksError` in one
sentence naming the file and, for a bad value, the row. Whether a mark fits its item (0 to the item's
points, a value the item can give) is for the caller, who knows the items.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from evalkit.errors import MarksError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A sheet cell a spreadsheet shows as text: one that would start a formula (or starts with the
    quote itself) gets a leading ``'``, which spreadsheets read as "text follows"."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith((*FORMULA_STARTS, "'")) else text


def csv_value(cell: Any) -> str:
    """The value :func:`csv_cell` wrote (its leading ``'`` removed again)."""
    text = "" if cell is None else str(cell)
    return text[1:] if text.startswith("'") and text[1:].startswith((*FORMULA_STARTS, "'")) else text


@dataclass(frozen=True)
class MarkRow:
    """One sample's row of a marks file: its mark (``None``: not marked yet), the marker, and the row number."""

    id: str
    mark: float | None
    marker: str | None
    row: int


def read_marks(path: str | Path) -> dict[str, MarkRow]:
    """The rows of a marks file by sample id, read once per version of the file.

    An id may appear again only with the same mark and marker, or blank (a blank row never clears a mark): two
    different marks of one item in one sheet are an error, never a silent "the later row wins".
    """
    p = Path(path)
    try:
        stat = p.stat()
    except OSError:
        raise MarksError(f"{p}: marks file not found") from None
    if not p.is_file():
        raise MarksError(f"{p}: a marks file is a CSV or JSON file, not a folder")
    return _read(str(p.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _read(path: str, mtime_ns: int, size: int) -> dict[str, MarkRow]:
    p = Path(path)
    raw = _json_rows(p) if p.suffix.lower() == ".json" else _csv_rows(p)
    out: dict[str, MarkRow] = {}
    for row, cells in raw:
        sid, value = str(cells.get("id") or "").strip(), cells.get("mark")
        text = "" if value is None else str(value).strip()
        if not sid:
            if text:
                raise MarksError(f"{p}: row {row} has a mark but no id")
            continue
        new = MarkRow(sid, _number(p, row, sid, text), str(cells.get("marker") or "").strip() or None, row)
        old = out.get(sid)
        if old is None or old.mark is None:
            out[sid] = new
        elif new.mark is not None and (new.mark, new.marker) != (old.mark, old.marker):
            raise MarksError(f"{p}: rows {old.row} and {row} both mark {sid} ({_who(old)} and {_who(new)}); one row per "
                             "item: a second marker's marks go in a file of their own, imported after the first")
    return out


def _who(row: MarkRow) -> str:
    return f"{row.mark:g}" + (f" by {row.marker}" if row.marker else "")


def _number(path: Path, row: int, sid: str, text: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise MarksError(f"{path}: row {row} ({sid}): mark {text!r} is not a number") from None


def _decoded(path: Path) -> str:
    """The sheet's text: UTF-8 (with or without a BOM), or GBK as a Chinese spreadsheet saves "CSV"."""
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        raise MarksError(f"{path}: this is a spreadsheet workbook, not a CSV; save it as 'CSV UTF-8' and import that")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise MarksError(f"{path}: cannot be read as a marks CSV (neither UTF-8 nor GBK text); save it as 'CSV UTF-8'") from None


def _csv_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        with io.StringIO(_decoded(path), newline="") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            if "id" not in columns or ("mark" not in columns and "points" not in columns):
                raise MarksError(f"{path}: a marks CSV needs the columns 'id' and 'mark' (as 'evalkit grade export' "
                                 "writes; 'points' is read as the mark)")
            key = "mark" if "mark" in columns else "points"
            return [(n, {"id": csv_value(r.get("id")), "mark": r.get(key), "marker": csv_value(r.get("marker"))})
                    for n, r in enumerate(reader, start=2)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MarksError(f"{path}: cannot be read as a marks CSV ({exc})") from None


def _json_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MarksError(f"{path}: not valid JSON at line {exc.lineno} ({exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MarksError(f"{path}: cannot be read ({exc})") from None
    if isinstance(data, dict):
        entries = [{"id": k, **(v if isinstance(v, dict) else {"mark": v})} for k, v in data.items()]
    elif isinstance(data, list) and all(isinstance(r, dict) for r in data):
        entries = data
    else:
        raise MarksError(f"{path}: a JSON marks file maps sample ids to marks, or lists rows with 'id' and 'mark'")
    return [(n, {"id": e.get("id"), "mark": e.get("mark", e.get("points")), "marker": e.get("marker")})
            for n, e in enumerate(entries, start=1)]
