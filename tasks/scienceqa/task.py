"""``scienceqa``: ScienceQA test, image questions only: grade-school science multiple choice.

``evalkit run --task scienceqa --model M`` reads ``derek-thomas/ScienceQA`` (split ``test``) from the Hugging Face
cache; ``--data PATH`` reads a local copy of the same layout. See docs/multimodal.md for the answer
rules and where evalkit's scoring differs from the official script.
"""

from __future__ import annotations

from typing import Any

from evalkit.tasks import Task, task
from evalkit.tasks.mm import hub_task


@task("scienceqa")
def make(**options: Any) -> Task:
    return hub_task("scienceqa", "scienceqa", "derek-thomas/ScienceQA", "test",
                    "ScienceQA test, image questions only: grade-school science multiple choice.", options)
