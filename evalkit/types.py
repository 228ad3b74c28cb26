"""The plain records every room shares: samples, content parts, requests, responses, scores.

This module owns nothing but data shapes. Every record is a dataclass that round-trips through
JSON (``to_dict`` / ``from_dict``); nothing here imports another evalkit room.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args

from evalkit.errors import EvalkitError

Status = Literal["correct", "partial", "wrong", "unparsed", "error", "skipped"]
STATUSES: tuple[Status, ...] = get_args(Status)


class SampleError(EvalkitError, ValueError):
    """A sample's own data is wrong (e.g. its points); the message names the sample."""


@dataclass(frozen=True, slots=True)
class Text:
    """A run of text inside a message."""

    text: str
    type: Literal["text"] = "text"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "text", "text": self.text}


@dataclass(frozen=True)
class Image:
    """An image inside a message: a path, raw bytes or a PIL image, hashed by content.

    The bytes are read lazily (``data()``); ``sha256`` names the image in results so
    that a run folder never inlines image data.
    """

    source: Any  # str | Path (file), bytes, or a PIL.Image.Image
    label: str | None = None  # e.g. "image 1", where the question refers to it
    type: Literal["image"] = "image"

    def data(self) -> bytes:
        """The encoded image bytes (PNG for in-memory PIL images)."""
        src = self.source
        if isinstance(src, bytes | bytearray):
            return bytes(src)
        if isinstance(src, str | Path):
            return read_image_file(Path(src))
        if hasattr(src, "save"):  # PIL image
            buf = io.BytesIO()
            src.save(buf, format="PNG")
            return buf.getvalue()
        raise TypeError(f"unsupported image source {type(src).__name__}")

    @property
    def sha256(self) -> str:
        cached = self.__dict__.get("_sha")
        if cached is None:
            cached = hashlib.sha256(self.data()).hexdigest()
            object.__setattr__(self, "_sha", cached)
        return cached

    @property
    def path(self) -> str | None:
        return str(self.source) if isinstance(self.source, str | Path) else None

    def to_dict(self) -> dict[str, Any]:
        """A reference to the image (path and content hash), never its bytes."""
        out: dict[str, Any] = {"type": "image"}
        if self.path is not None:
            out["path"] = self.path
        try:
            out["sha256"] = self.sha256
        except OSError:
            out["sha256"] = None
        if self.label:
            out["label"] = self.label
        return out


ContentPart = Text | Image

def well_formed(text: str | None) -> str | None:
    """``text`` with every lone surrogate (``"\\ud83d"`` is valid JSON but not Unicode text) replaced by
    U+FFFD, so that it can be encoded, cached, written and shown; other text is returned as it is."""
    if text is None:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        import re

        return re.sub("[\ud800-\udfff]", "\ufffd", text)
    return text


MAX_IMAGE_FILE_BYTES = 256 * 1024 * 1024  # an image file larger than this is refused, not read


def read_image_file(path: Path, limit: int = MAX_IMAGE_FILE_BYTES) -> bytes:
    """An image file's bytes: a regular file only, and no larger than ``limit``.

    Data from outside may name ``/dev/zero`` (endless) or a FIFO (hangs on open): the file is opened
    without blocking, checked to be a regular file, and read no further than ``limit`` bytes.
    Raises ``OSError`` (with the reason) for anything else.
    """
    import errno
    import os
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if st.st_size > limit:
            raise OSError(errno.EFBIG, f"{st.st_size:,} bytes, more than the {limit:,} an image may have")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"more than the {limit:,} bytes an image may have")
    return data


def content_from_dict(d: dict[str, Any] | str) -> ContentPart:
    """Rebuild a content part from its JSON form (an image comes back from its path)."""
    if isinstance(d, str):
        return Text(d)
    if d.get("type") == "image":
        return Image(d.get("path") or d.get("source"), label=d.get("label"))
    return Text(str(d.get("text", "")))


@dataclass(frozen=True, slots=True)
class Message:
    """One chat turn: a role and its content parts."""

    role: Literal["system", "user", "assistant"]
    content: tuple[ContentPart, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, Text))

    @property
    def images(self) -> list[Image]:
        return [p for p in self.content if isinstance(p, Image)]

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "content": [p.to_dict() for p in self.content]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        content = d["content"]
        if isinstance(content, str):
            content = [content]
        return cls(d["role"], tuple(content_from_dict(c) for c in content))


@dataclass(frozen=True)
class Sample:
    """One benchmark item: a stable id, the input, optional choices, the target and metadata.

    ``input`` is plain text or a sequence of content parts (text interleaved with images).
    ``target`` is a string, or a list of strings (several blanks, or a set of letters).
    ``metadata`` carries what graders and reports need: points, question type, section...
    """

    id: str
    input: str | tuple[ContentPart, ...]
    target: Any = None
    choices: tuple[str, ...] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def parts(self) -> tuple[ContentPart, ...]:
        return (Text(self.input),) if isinstance(self.input, str) else tuple(self.input)

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, Text))

    @property
    def images(self) -> list[Image]:
        return [p for p in self.parts if isinstance(p, Image)]

    @property
    def max_points(self) -> float:
        """The item's points from ``metadata["points"]`` (summed over blanks), 1 when absent.

        Raises :class:`SampleError` naming the sample when the value is not a number above 0
        (or a list of them, one per blank).
        """
        return float(sum(self.blank_points()))

    def blank_points(self) -> list[float]:
        """``metadata["points"]`` as a list: one entry per blank for a list, else the one total."""
        pts = self.metadata.get("points", 1)
        if pts is None:
            return [1.0]
        values = [_points_value(p) for p in pts] if isinstance(pts, list | tuple) else [_points_value(pts)]
        if not values or None in values:
            raise SampleError(f"sample {self.id!r}: metadata 'points' is {pts!r}; it must be a number above 0, "
                              "or a list of them (one per blank)")
        return values  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        inp: Any = self.input if isinstance(self.input, str) else [p.to_dict() for p in self.input]
        out: dict[str, Any] = {"id": self.id, "input": inp, "target": self.target}
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.metadata:
            out["metadata"] = self.metadata
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Sample:
        inp = d["input"]
        if not isinstance(inp, str):
            inp = tuple(content_from_dict(c) for c in inp)
        choices = d.get("choices")
        return cls(
            id=str(d["id"]),
            input=inp,
            target=d.get("target"),
            choices=tuple(choices) if choices is not None else None,
            metadata=dict(d.get("metadata") or {}),
        )


def _points_value(raw: Any) -> float | None:
    """A points value as a finite float above 0 (numbers and numeric text), else ``None``."""
    if isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def _check_generation(d: dict[str, Any]) -> None:
    """One sentence for a generation value of the wrong kind (``max_tokens: lots``), else nothing."""
    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

    rules: dict[str, tuple[Any, str]] = {
        "max_tokens": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                       "a whole number of tokens, 1 or more"),
        "temperature": (lambda v: number(v) and v >= 0, "a number, 0 or more"),
        "top_p": (lambda v: number(v) and 0 < v <= 1, "a number above 0 and at most 1"),
        "seed": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
        "stop": (lambda v: isinstance(v, str) or (isinstance(v, list | tuple) and all(isinstance(s, str) for s in v)),
                 "a text or a list of texts"),
        "extra": (lambda v: isinstance(v, dict), "a mapping of field to value"),
    }
    for name, (ok, what) in rules.items():
        value = d.get(name)
        if value is not None and not ok(value):
            raise ValueError(f"{name} must be {what}, not {value!r}")


@dataclass(frozen=True, slots=True)
class GenerationConfig:
    """Sampling parameters sent with every request of a run."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["stop"] is not None:
            d["stop"] = list(d["stop"])
        return {k: v for k, v in d.items() if v not in (None, {}, [])}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> GenerationConfig:
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown generation field(s) {sorted(unknown)}; allowed: {sorted(known)}")
        _check_generation(d)
        if isinstance(d.get("stop"), str):
            d["stop"] = (d["stop"],)
        elif d.get("stop") is not None:
            d["stop"] = tuple(d["stop"])
        return cls(**d)

    def merged(self, other: GenerationConfig) -> GenerationConfig:
        """This config with every field that ``other`` sets taken from ``other``."""
        changes = {f.name: getattr(other, f.name) for f in fields(other) if getattr(other, f.name) not in (None, {})}
        if "extra" in changes:
            changes["extra"] = {**self.extra, **other.extra}
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Request:
    """What an adapter is asked: the messages, the sampling config, and the sample they came from.

    Baseline adapters (``reference``, ``random``) read ``sample``; real model adapters must not.
    """

    messages: tuple[Message, ...]
    config: GenerationConfig = GenerationConfig()
    sample: Sample | None = None

    @property
    def sample_id(self) -> str | None:
        return self.sample.id if self.sample else None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the model reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Response:
    """What an adapter answered. ``error`` is set (and ``text`` empty) when the call failed.

    ``retryable`` tells the runner whether trying again may help (429, 5xx, timeouts);
    ``retry_after`` is the server's requested wait in seconds, when it gave one. ``unusable`` is set when
    the failure says the endpoint itself cannot serve the run (the key refused, the model unknown, no
    server at the base URL, a local model that cannot load): one sentence for the user, on which the
    runner stops after a few such failures in a row.
    """

    text: str = ""
    usage: Usage = Usage()
    latency_s: float = 0.0
    error: str | None = None
    reasoning: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    unusable: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Score:
    """A grade, and why. ``value`` is the fraction of ``max_points`` earned (0..1).

    ``stage`` names the rule that decided (e.g. ``boxed+string``, ``numeric``, ``symbolic``,
    ``structure``, ``judge``, ``human``); ``grader`` names who produced the mark
    (a scorer name, ``answer``, ``judge``, ``human``). ``extracted``/``normalized`` show what
    was read out of the response and how it was compared.

    Graders build a score with :meth:`from_points` (or :meth:`right`, all or nothing), so that
    ``value``, ``status`` and ``points`` agree, and with :meth:`ungraded` / :meth:`error` when no
    points could be given.
    """

    value: float
    status: Status
    points: float = 0.0
    max_points: float = 1.0
    stage: str = ""
    grader: str = ""
    extracted: Any = None
    normalized: Any = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "value": self.value, "status": self.status, "points": self.points, "max_points": self.max_points,
            "stage": self.stage, "grader": self.grader, "extracted": self.extracted,
        }
        for key in ("normalized", "reason"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        if self.details:
            d["details"] = self.details
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Score:
        known = _SCORE_FIELDS
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def from_points(cls, points: float, max_points: float, *, stage: str = "", grader: str = "",
                    extracted: Any = None, normalized: Any = None, reason: str | None = None,
                    details: dict[str, Any] | None = None) -> Score:
        """A graded score: ``value`` and ``status`` follow from the points (see :func:`status_for`)."""
        return cls(points / max_points if max_points else 0.0, status_for(points, max_points), points, max_points,
                   stage=stage, grader=grader, extracted=extracted, normalized=normalized, reason=reason,
                   details=details or {})

    @classmethod
    def right(cls, ok: bool, max_points: float, **fields_: Any) -> Score:
        """All or nothing: the full points when ``ok``, else none."""
        return cls.from_points(max_points if ok else 0.0, max_points, **fields_)

    @classmethod
    def ungraded(cls, status: Literal["unparsed", "error", "skipped"], max_points: float, *, stage: str,
                 reason: str | None, grader: str = "", extracted: Any = None, normalized: Any = None,
                 details: dict[str, Any] | None = None) -> Score:
        """No points, because nothing could be read (``unparsed``), checked (``error``) or marked yet."""
        return cls(0.0, status, 0.0, max_points, stage=stage, grader=grader, extracted=extracted,
                   normalized=normalized, reason=reason, details=details or {})

    @classmethod
    def error(cls, reason: str, max_points: float = 1.0) -> Score:
        return cls.ungraded("error", max_points, stage="error", reason=reason)


_SCORE_FIELDS = frozenset(f.name for f in fields(Score))


def status_for(points: float, max_points: float) -> Status:
    """The one rule from points to a status: full points → correct, some → partial, none → wrong."""
    if points >= max_points:
        return "correct"
    return "partial" if points > 0 else "wrong"


@dataclass(slots=True)
class SampleResult:
    """One line of ``samples.jsonl``: the sample's prompt, the model's response and its score."""

    id: str
    prompt: list[dict[str, Any]]
    target: Any
    response: str | None
    score: Score
    usage: Usage = Usage()
    latency_s: float = 0.0
    error: str | None = None
    reasoning: str | None = None
    cached: bool = False
    attempts: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)
    question: str | None = None  # the sample's own question (and options), without the prompt template

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "prompt": self.prompt,
            "target": self.target,
            "response": self.response,
            "reasoning": self.reasoning,
            "usage": {"prompt_tokens": self.usage.prompt_tokens, "completion_tokens": self.usage.completion_tokens},
            "latency_s": round(self.latency_s, 6),
            "error": self.error,
            "cached": self.cached,
            "attempts": self.attempts,
            "score": self.score.to_dict(),
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SampleResult:
        u = d.get("usage") or {}
        return cls(
            id=str(d["id"]),
            prompt=d.get("prompt") or [],
            target=d.get("target"),
            response=d.get("response"),
            score=Score.from_dict(d["score"]),
            usage=Usage(int(u.get("prompt_tokens", 0)), int(u.get("completion_tokens", 0))),
            latency_s=float(d.get("latency_s", 0.0)),
            error=d.get("error"),
            reasoning=d.get("reasoning"),
            cached=bool(d.get("cached", False)),
            attempts=int(d.get("attempts", 1)),
            metadata=d.get("metadata") or {},
            question=d.get("question"),
        )
