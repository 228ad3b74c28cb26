"""The built-in generated image task ``figures``: Pillow-rendered high-school figures.

``evalkit run --task figures --model M`` uses the bundled set (200 questions, seed 0, beside this
file in ``data/``). ``-T n=2000 -T seed=1 -T lang=zh`` renders another set once into evalkit's
cache; ``--data DIR`` reads a set written by ``python -m evalkit.tasks.figures --out DIR``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalkit.grading import GraderSpec
from evalkit.tasks import DatasetSpec, Task, TaskError, task
from evalkit.tasks.figures import DEFAULT_N, DEFAULT_SEED, GENERATOR_VERSION, cached_set

BUNDLED = Path(__file__).resolve().parent / "data"
TEMPLATE = "{{ question }}\n{% if options %}{{ options }}\n{% endif %}{{ metadata.instruction }}"


def _int(options: dict[str, Any], key: str, default: int) -> int:
    value = options.get(key, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise TaskError(f"-T {key}={value}: expected a whole number") from None


@task("figures")
def make(**options: Any) -> Task:
    n, seed = _int(options, "n", DEFAULT_N), _int(options, "seed", DEFAULT_SEED)
    lang = str(options.get("lang", "both"))
    if lang not in ("en", "zh", "both"):
        raise TaskError(f"-T lang={lang}: expected en, zh or both")
    if options.get("data"):
        folder = Path(str(options["data"])).expanduser().resolve()
    elif (n, seed, lang) == (DEFAULT_N, DEFAULT_SEED, "both") and (BUNDLED / "figures.jsonl").exists():
        folder = BUNDLED
    else:
        folder = cached_set(n, seed, lang)
    return Task(
        name="figures",
        description="Generated high-school figures (graphs, charts, geometry, shapes, tables); answers computed by the generator.",
        version=f"{GENERATOR_VERSION}",
        dataset=DatasetSpec(format="figures", path=folder),
        template=TEMPLATE,
        grader=GraderSpec("by_type"),
        metrics=["accuracy"],
        modality="image",
        source=f"{__file__}:make",
        options={"n": n, "seed": seed, "lang": lang},
    )
