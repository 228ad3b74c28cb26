"""The small things a new user met (issue 15 item 8): a version and -h, `evalkit[hf]` in the adapter
list, a progress line that fits 80 columns, a resume that says what it skips, and a marking sheet
that opens as plain UTF-8 with the question (not the whole prompt) in it."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from conftest import write_mcq
from typer.testing import CliRunner

from evalkit import __version__


def evalkit(*args: str) -> tuple[int, str, str]:
    from evalkit.cli import app

    result = CliRunner().invoke(app, list(args), terminal_width=120)
    return result.exit_code, result.stdout, result.stderr


def test_version_and_short_help() -> None:
    code, out, _ = evalkit("--version")
    assert code == 0 and out.strip() == f"evalkit {__version__}"
    code, out, _ = evalkit("-h")
    assert code == 0 and "Usage: evalkit" in out and "run" in out
    code, out, _ = evalkit("run", "-h")
    assert code == 0 and "--max-errors" in out and "--dry-run" in out


def test_list_adapters_shows_the_extra_in_brackets() -> None:
    code, out, _ = evalkit("list", "adapters")
    assert code == 0 and "evalkit[hf]" in out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_line_fits_80_columns(monkeypatch: object) -> None:
    from evalkit.progress import Progress, RunStats

    monkeypatch.setenv("COLUMNS", "80")  # type: ignore[attr-defined]
    screen = _Terminal()
    stats = RunStats(total=12844, done=3000, errors=10, retries=3, graded=2990, value_sum=1546.0)
    with Progress("gaokao-bench-math × openai:qwen2.5-vl-72b-instruct", stats, stream=screen) as progress:
        progress.update()
    lines = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue()).replace("\r", "\n").splitlines()
    shown = [line for line in lines if "3000/12844" in line]
    assert shown, lines
    assert all(len(line) <= 80 for line in lines), [len(line) for line in lines]
    assert "score 51.7%" in shown[-1] and "errors 10" in shown[-1] and "retries 3" in shown[-1]
    assert any("gaokao-bench-math × openai:qwen2.5-vl-72b-instruct" in line for line in lines)  # on its own line


def test_resume_says_how_many_samples_were_already_done(tmp_path: Path) -> None:
    data = write_mcq(tmp_path / "mcq.jsonl", 10)
    args = ["run", "--task", str(data), "--model", "reference", "--output", str(tmp_path / "r"), "--no-report"]
    assert evalkit(*args, "--limit", "3")[0] == 0
    code, _, err = evalkit(*args)
    assert code == 0 and "resuming — 3 sample(s) already done, 7 to go" in err


def test_the_marking_sheet_has_no_bom_and_shows_the_question_not_the_prompt(tmp_path: Path) -> None:
    run = tmp_path / "r"
    assert evalkit("run", "--task", "gaokao-math", "--model", "reference", "--output", str(run), "-q",
                   "--no-report")[0] == 0
    code, _, err = evalkit("grade", "export", str(run))
    assert code == 0, err
    raw = (run / "grading" / "marks.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    first = rows[0]
    assert "请写出完整的解答过程" not in first["question"]  # the template's instruction is not the question
    from evalkit.tasks import get_task

    sample = next(s for s in get_task("gaokao-math").samples if s.id == first["id"])
    assert first["question"] == sample.text
