"""``cmmmu``: CMMMU val: Chinese college-level multimodal questions (选择/判断/填空).

``evalkit run --task cmmmu --model M`` reads ``m-a-p/CMMMU`` (split ``val``) from the Hugging Face
cache; ``--data PATH`` reads a local copy of the same layout. See docs/multimodal.md for the answer
rules and where evalkit's scoring differs from the official script.
"""

from __future__ import annotations

from typing import Any

from evalkit.tasks import Task, task
from evalkit.tasks.mm import hub_task


@task("cmmmu")
def make(**options: Any) -> Task:
    return hub_task("cmmmu", "cmmmu", "m-a-p/CMMMU", "val",
                    "CMMMU val: Chinese college-level multimodal questions (选择/判断/填空).", options,
                    grader_options={"multi_select": {"rule": "all-or-nothing"}})
