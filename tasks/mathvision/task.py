"""``mathvision``: MATH-Vision: competition mathematics with figures (-T split=testmini for the 304-question subset).

``evalkit run --task mathvision --model M`` reads ``MathLLMs/MathVision`` (split ``test``) from the Hugging Face
cache; ``--data PATH`` reads a local copy of the same layout. See docs/multimodal.md for the answer
rules and where evalkit's scoring differs from the official script.
"""

from __future__ import annotations

from typing import Any

from evalkit.tasks import Task, task
from evalkit.tasks.mm import hub_task


@task("mathvision")
def make(**options: Any) -> Task:
    return hub_task("mathvision", "mathvision", "MathLLMs/MathVision", "test",
                    "MATH-Vision: competition mathematics with figures (-T split=testmini for the 304-question subset).", options)
