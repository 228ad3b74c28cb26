"""Baselines every user needs: ``reference`` (answers the target, must score 100%) and ``random``."""

from __future__ import annotations

import random
import string
from typing import Any

from evalkit.adapters.base import Adapter, AdapterError
from evalkit.types import Request, Response, Sample


def _as_list(target: Any) -> list[str]:
    if isinstance(target, list | tuple):
        return [str(t) for t in target]
    return [str(target)]


def _is_letters(target: Any) -> bool:
    return all(len(t) == 1 and t in string.ascii_uppercase for t in _as_list(target))


def reference_text(sample: Sample) -> str:
    """The sample's target phrased as a model would write it."""
    if "reference_response" in sample.metadata:
        return str(sample.metadata["reference_response"])
    target = sample.target
    kind = sample.metadata.get("type")
    if sample.choices is not None or kind in ("single", "multi") or (target is not None and _is_letters(target)):
        letters = "".join(sorted(_as_list(target))) if kind == "multi" else "".join(_as_list(target))
        return f"逐项分析各选项后可知正确答案。故选{letters}"
    items = _as_list(target)
    if len(items) > 1:
        boxes = "，".join(f"\\boxed{{{t}}}" for t in items)
        return f"Working through each blank in turn, the answers are {boxes}."
    return f"Solving step by step, the final answer is $\\boxed{{{items[0]}}}$."


class ReferenceAdapter(Adapter):
    scheme = "reference"
    description = "Answers every sample with its own target, phrased as a model would; a full run must score 100%."
    cacheable = False

    async def generate(self, request: Request) -> Response:
        if request.sample is None:
            return Response(error="the reference adapter needs the sample")
        return Response(text=reference_text(request.sample))


class RandomAdapter(Adapter):
    scheme = "random"
    description = "Chance baseline: a uniform pick over the choices (a subset for multi-select, one pick per sub-question of a passage), a plausible guess otherwise. URI random:SEED."
    cacheable = False

    def __init__(self, target: str = "", **options: Any) -> None:
        super().__init__(target, **options)
        try:
            self.seed = int(target) if target else 0
        except ValueError:
            raise AdapterError(f"--model random:{target}: the seed must be an integer") from None

    def _rng(self, sample: Sample) -> random.Random:
        return random.Random(f"{self.seed}:{sample.id}")

    async def generate(self, request: Request) -> Response:
        sample = request.sample
        if sample is None:
            return Response(text="I don't know.")
        rng = self._rng(sample)
        n = len(sample.choices) if sample.choices else int(sample.metadata.get("n_choices", 0) or 0)
        kind = sample.metadata.get("type")
        if n == 0 and kind in ("single", "multi"):
            n = 4
        if n:
            letters = string.ascii_uppercase[:n]
            if kind == "group" and isinstance(sample.target, list | tuple):  # one pick per sub-question
                picks = [rng.choice(letters) for _ in sample.target]
                return Response(text="\n".join(f"（{k}）【答案】{a} <eoa>" for k, a in enumerate(picks, 1)))
            if kind == "multi":
                k = rng.randint(1, n)
                pick = "".join(sorted(rng.sample(letters, k)))
            else:
                pick = rng.choice(letters)
            return Response(text=f"故选{pick}")
        guess = rng.choice([0, 1, 2, 3, -1, "1/2", 4, 5, 10, "\\sqrt{2}"])
        return Response(text=f"The answer is $\\boxed{{{guess}}}$.")
