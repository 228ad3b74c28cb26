"""``mmmu``: MMMU validation: college-level questions over 30 subjects with images (-T subjects=Math,Physics).

``evalkit run --task mmmu --model M`` reads ``MMMU/MMMU`` (split ``validation``) from the Hugging Face
cache; ``--data PATH`` reads a local copy of the same layout. See docs/multimodal.md for the answer
rules and where evalkit's scoring differs from the official script.
"""

from __future__ import annotations

from typing import Any

from evalkit.tasks import Task, task
from evalkit.tasks.mm import hub_task


@task("mmmu")
def make(**options: Any) -> Task:
    return hub_task("mmmu", "mmmu", "MMMU/MMMU", "validation",
                    "MMMU validation: college-level questions over 30 subjects with images (-T subjects=Math,Physics).", options)
