"""``mathvista``: MathVista testmini: mathematical reasoning over figures, charts and photos (1,000 questions).

``evalkit run --task mathvista --model M`` reads ``AI4Math/MathVista`` (split ``testmini``) from the Hugging Face
cache; ``--data PATH`` reads a local copy of the same layout. See docs/multimodal.md for the answer
rules and where evalkit's scoring differs from the official script.
"""

from __future__ import annotations

from typing import Any

from evalkit.tasks import Task, task
from evalkit.tasks.mm import hub_task


@task("mathvista")
def make(**options: Any) -> Task:
    return hub_task("mathvista", "mathvista", "AI4Math/MathVista", "testmini",
                    "MathVista testmini: mathematical reasoning over figures, charts and photos (1,000 questions).", options)
