"""``olympiadbench-gaokao``: OlympiadBench Gaokao maths (OE_MM_maths_zh_CEE with figures, OE_TO_maths_zh_CEE text only); open answers.

``evalkit run --task olympiadbench-gaokao --model M`` reads ``Hothan/OlympiadBench`` (split ``train``) from the Hugging Face
cache; ``--data PATH`` reads a local copy of the same layout. See docs/multimodal.md for the answer
rules and where evalkit's scoring differs from the official script.
"""

from __future__ import annotations

from typing import Any

from evalkit.tasks import Task, task
from evalkit.tasks.mm import hub_task


@task("olympiadbench-gaokao")
def make(**options: Any) -> Task:
    return hub_task("olympiadbench-gaokao", "olympiadbench", "Hothan/OlympiadBench", "train",
                    "OlympiadBench Gaokao maths (OE_MM_maths_zh_CEE with figures, OE_TO_maths_zh_CEE text only); open answers.", options)
