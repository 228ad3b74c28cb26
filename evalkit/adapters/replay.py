"""``replay:PATH`` — answers from recorded outputs (JSONL of ``{"id", "output"}``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from evalkit.adapters.base import Adapter, AdapterError
from evalkit.registry import Registry
from evalkit.types import Request, Response


@runtime_checkable
class ReplayLayout(Protocol):
    """A published output layout: ``layout(path) -> {sample id: output}``, and whether ``path`` is one."""

    def __call__(self, path: Path) -> dict[str, str]: ...

    def accepts(self, path: Path) -> bool: ...


# Readers of other output layouts: name -> "module:attr" of a ReplayLayout (or a plain reader, used only
# when named with -M format=NAME). A layout is recognised when the path is not evalkit's own JSONL.
replay_formats: Registry[Any] = Registry("replay format", "evalkit.replay_formats")
replay_formats.add("gaokao-bench", "evalkit.tasks.gaokao:read_gaokao_bench_outputs")


def read_jsonl_outputs(path: Path) -> dict[str, str]:
    try:
        return _jsonl_outputs(path)
    except UnicodeDecodeError:
        raise AdapterError(f"{path}: not UTF-8 text (expected JSONL of {{\"id\", \"output\"}})") from None


def _jsonl_outputs(path: Path) -> dict[str, str]:
    """``{id: output}``; an output of ``null`` is no output (the sample fails as unanswered, never graded as "None")."""
    outputs: dict[str, str] = {}
    lines: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                sid, output = str(rec["id"]), rec["output"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise AdapterError(f"{path}: line {n} is not a JSON object with 'id' and 'output'") from None
            if output is None:
                continue
            if isinstance(output, bool) or not isinstance(output, str | int | float):
                raise AdapterError(f"{path}: line {n}: 'output' of {sid!r} is {type(output).__name__}, not text")
            if sid in outputs and outputs[sid] != str(output):
                raise AdapterError(f"{path}: line {n} records {sid!r} again with another output (first on line "
                                   f"{lines[sid]}); keep one output per sample")
            outputs[sid], lines[sid] = str(output), lines.get(sid, n)
    return outputs


class ReplayAdapter(Adapter):
    scheme = "replay"
    description = "Replays recorded outputs: replay:PATH to a JSONL of {\"id\", \"output\"} (or a known published layout)."
    options_doc = {"format": "layout of PATH: 'jsonl' (default) or a registered replay format"}
    cacheable = False

    def __init__(self, target: str = "", **options: Any) -> None:
        super().__init__(target, **options)
        path = Path(target)
        if not target or not path.exists():
            raise AdapterError(f"--model replay:{target}: no such file or folder")
        fmt = options.get("format")
        if fmt and fmt != "jsonl":
            self.outputs = replay_formats.get(fmt)(path)
        elif path.is_file() and path.suffix == ".jsonl":
            self.outputs = read_jsonl_outputs(path)
        else:
            self.outputs = self._detect(path)

    def _detect(self, path: Path) -> dict[str, str]:
        for name in replay_formats.names():
            layout = replay_formats.get(name)
            if isinstance(layout, ReplayLayout) and layout.accepts(path):
                return layout(path)
        raise AdapterError(f"--model replay:{path}: not a JSONL of {{id, output}} nor a known output layout")

    async def generate(self, request: Request) -> Response:
        sid = request.sample_id
        if sid is None or sid not in self.outputs:
            return Response(error=f"no recorded output for sample {sid!r} in {self.target}")
        return Response(text=self.outputs[sid])
