"""``gaokao-mm``: GAOKAO-MM's Gaokao multiple-choice questions with figures, from a local checkout.

``evalkit run --task gaokao-mm --data PATH/TO/GAOKAO-MM --model M`` (``-T subjects=Math`` to pick
subjects). The prompt is the benchmark's own prefix from ``Bench/MCQ_prompt.json``; the figures
follow the question text in the order the item lists them. Grading: ``choice`` (single answer) or
``multi_select`` (several letters), points from each item's ``score``; ``-T extract=last_capital``
reads the answer as the benchmark's own script does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalkit.grading import GraderSpec
from evalkit.tasks import DatasetSpec, Task, TaskError, task

TEMPLATE = (
    "{{ metadata.prompt }}{{ question }}\n"
    "{% for i in range(sample.images | length) %}<image {{ i + 1 }}>{% endfor %}"
)


def _grader_options(options: dict[str, Any]) -> dict[str, Any]:
    """``-T extract=last_capital`` reads the answer as GAOKAO-MM's script does (the last capital A-D)."""
    extract = options.get("extract")
    if not extract:
        return {}
    if extract not in ("default", "last_capital"):
        raise TaskError(f"-T extract={extract}: expected default or last_capital")
    return {"choice": {"extract": extract}, "multi_select": {"extract": extract}}


@task("gaokao-mm")
def make(**options: Any) -> Task:
    data = options.get("data")
    path = Path(str(data)).expanduser().resolve() if data else None
    spec_options = {k: v for k, v in options.items() if k in ("subjects",)}
    return Task(
        name="gaokao-mm",
        description="GAOKAO-MM: Gaokao multiple-choice questions with figures (local checkout via --data).",
        version="1",
        dataset=DatasetSpec(format="gaokao-mm", path=path, options=spec_options),
        template=TEMPLATE,
        grader=GraderSpec("by_type", _grader_options(options)),
        metrics=["accuracy", "points"],
        modality="image",
        source=f"{__file__}:make",
        options=dict(options),
        about={
            "group": "gaokao",
            "title": "GAOKAO-MM (Gaokao questions with figures)",
            "homepage": "https://github.com/OpenMOSS/GAOKAO-MM",
            "paper": "https://arxiv.org/abs/2402.15745",
            "licence": "Apache-2.0 (the repository)",
            "data": "--data PATH to a checkout of OpenMOSS/GAOKAO-MM (Data/<subject>.json, Data/<subject>/*.png)",
            "rule": "single choice: the concluded letter; several letters: multi_select; points from each item's "
                    "score; -T extract=last_capital reads the answer as the benchmark's script does",
        },
    )
