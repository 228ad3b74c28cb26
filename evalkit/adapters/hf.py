"""``hf:PATH_OR_ID`` — a local transformers model, text or vision-language, batched on one device.

This module owns running a model in-process: loading it (off the event loop, once) with its
tokenizer or processor, choosing the device and dtype, turning evalkit messages into the model's
chat template (image placeholders for vision-language models), gathering concurrent requests into
batches of equal generation settings, generating with left padding, and cutting the new tokens
back into text with usage counts. torch and transformers are imported only here, on first use
(install the ``evalkit[hf]`` extra). Getting weights onto disk (hub download) is the user's business.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.adapters.base import Adapter, AdapterError
from evalkit.adapters.remote import opt_bool, opt_number
from evalkit.types import Image, Message, Request, Response, Text, Usage

DTYPES = ("auto", "float32", "float16", "bfloat16")


@dataclass(slots=True)
class _Item:
    """A queued request, its decoded images, and where its answer goes."""

    request: Request
    images: list[Any]
    future: asyncio.Future[Response]


class HFAdapter(Adapter):
    scheme = "hf"
    needs_gpu = True
    description = "A local transformers model (text or vision-language), batched: hf:PATH_OR_HUB_ID; needs evalkit[hf]."
    options_doc = {
        "device": "auto (default: cuda, then mps, then cpu), cpu, cuda, cuda:N or mps",
        "device_map": "spread a large model over several GPUs: auto, balanced, sequential (needs accelerate)",
        "dtype": "auto (default: bfloat16 on a GPU that supports it, float32 otherwise), float32, float16, bfloat16",
        "batch_size": "most requests generated together (default 8)",
        "batch_wait_ms": "how long a batch waits to fill up (default 5)",
        "max_new_tokens": "tokens to generate when the run sets no --max-tokens (default 512)",
        "trust_remote_code": "let the model folder run its own Python code (default false)",
    }

    def __init__(self, target: str = "", **options: Any) -> None:
        super().__init__(target, **options)
        if not target:
            raise AdapterError("--model hf:PATH_OR_ID: name a model folder or hub id after the colon")
        self.device_option = str(options.get("device", "auto"))
        self.dtype_option = str(options.get("dtype", "auto"))
        self.device_map = options.get("device_map") or None
        if self.dtype_option not in DTYPES:
            raise AdapterError(f"-M dtype={self.dtype_option}: expected one of {', '.join(DTYPES)}")
        self.batch_size = max(1, opt_number(options, "batch_size", 8))
        self.batch_wait = opt_number(options, "batch_wait_ms", 5.0, float) / 1000
        self.max_new_tokens = max(1, opt_number(options, "max_new_tokens", 512))
        self.trust_remote_code = opt_bool(options, "trust_remote_code", False)
        local = Path(target)
        if local.exists() and not (local / "config.json").is_file():
            raise AdapterError(f"--model hf:{target}: the folder has no config.json (not a transformers model)")
        self.vision: bool | None = _has_vision(local / "config.json") if local.exists() else None
        if self.vision is False:
            self.text_only = True  # the runner applies --images to text-only models
        self.batches = 0
        self.device = ""
        self._model: Any = None
        self._tokenizer: Any = None
        self._processor: Any = None
        self._load_error: str | None = None
        self._lock: asyncio.Lock | None = None
        self._queue: deque[_Item] = deque()
        self._worker: asyncio.Task[None] | None = None

    def preflight(self) -> None:
        """torch and transformers must be installed (the ``evalkit[hf]`` extra) before any sample is run."""
        import importlib.util

        missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
        if missing:
            names = " and ".join(missing)
            verb = "is" if len(missing) == 1 else "are"
            raise AdapterError(f"--model hf:{self.target}: the hf adapter needs torch and transformers; {names} "
                               f"{verb} not installed: pip install 'evalkit[hf]'")

    # ----- loading ------------------------------------------------------------------------

    async def _ensure_loaded(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._model is None and self._load_error is None:
                try:
                    await asyncio.to_thread(self._load)
                except ImportError:
                    self._load_error = "the hf adapter needs torch and transformers: pip install 'evalkit[hf]'"
                except (OSError, ValueError, KeyError, RuntimeError) as exc:
                    self._load_error = f"hf:{self.target}: cannot load the model ({str(exc).splitlines()[0][:300]})"

    def _load(self) -> None:
        import torch
        import transformers as tf

        kwargs = {"trust_remote_code": self.trust_remote_code}
        config = tf.AutoConfig.from_pretrained(self.target, **kwargs)
        self.vision = getattr(config, "vision_config", None) is not None
        self.device = _pick_device(torch, self.device_option)
        dtype = _pick_dtype(torch, self.dtype_option, self.device)
        if self.vision:
            self._processor = tf.AutoProcessor.from_pretrained(self.target, **kwargs)
            self._tokenizer = self._processor.tokenizer
            model_cls = tf.AutoModelForImageTextToText
        else:
            self._tokenizer = tf.AutoTokenizer.from_pretrained(self.target, **kwargs)
            model_cls = tf.AutoModelForCausalLM
        if self.device_map:
            model = model_cls.from_pretrained(self.target, dtype=dtype, device_map=self.device_map, **kwargs)
            self.device = str(model.device)  # inputs go where the first layers are
        else:
            model = model_cls.from_pretrained(self.target, dtype=dtype, **kwargs).to(self.device)
        self._model = model.eval()
        tok = self._tokenizer
        tok.padding_side = "left"  # decoder-only batches generate from a common right edge
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token

    # ----- batching -----------------------------------------------------------------------

    async def generate(self, request: Request) -> Response:
        await self._ensure_loaded()
        if self._load_error:
            return Response(error=self._load_error, retryable=False, unusable=self._load_error)
        if not self.vision and any(m.images for m in request.messages):
            return Response(error=f"hf:{self.target} is a text-only model; run with --images text or skip",
                            retryable=False)
        try:  # decode here so that a bad image fails its own sample, not the whole batch
            images = [_pil(img) for m in request.messages for img in m.images]
        except ValueError as exc:
            return Response(error=str(exc), retryable=False)
        fut: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._queue.append(_Item(request, images, fut))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._drain())
        return await fut

    async def _drain(self) -> None:
        while self._queue:
            if len(self._queue) < self.batch_size and self.batch_wait:
                await asyncio.sleep(self.batch_wait)
            batch = self._take_batch()
            try:
                results = await asyncio.to_thread(self._run_batch, batch)
            except Exception as exc:  # noqa: BLE001 - a failing batch is an error on its samples
                results = [Response(error=f"generation failed: {type(exc).__name__}: {exc}")] * len(batch)
            for item, result in zip(batch, results, strict=True):
                if not item.future.done():
                    item.future.set_result(result)

    def _take_batch(self) -> list[_Item]:
        """Up to ``batch_size`` queued requests with the same generation settings as the oldest."""
        first = self._queue[0].request.config
        batch: list[_Item] = []
        rest: deque[_Item] = deque()
        while self._queue:
            item = self._queue.popleft()
            if item.future.done():
                continue  # cancelled while waiting
            if len(batch) < self.batch_size and item.request.config == first:
                batch.append(item)
            else:
                rest.append(item)
        self._queue = rest
        return batch

    # ----- one batch (in a worker thread) -------------------------------------------------

    def _run_batch(self, batch: list[_Item]) -> list[Response]:
        import time

        import torch

        start = time.perf_counter()
        config = batch[0].request.config
        if config.seed is not None:
            torch.manual_seed(config.seed)
        inputs = self._encode(batch)
        with torch.inference_mode():
            output = self._model.generate(**inputs, **self._generation_kwargs(config))
        self.batches += 1
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        texts = self._tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        latency = time.perf_counter() - start
        prompt_counts = inputs["attention_mask"].sum(dim=1).tolist()
        return [
            Response(text=_cut_at_stop(text, config.stop), latency_s=latency,
                     usage=Usage(int(prompt_counts[i]), self._count_new(new_tokens[i])),
                     meta={"batch_size": len(batch), "device": self.device})
            for i, text in enumerate(texts)
        ]

    def _encode(self, batch: list[_Item]) -> Any:
        prompts = [self._prompt(item.request.messages) for item in batch]
        templated = self._has_template()
        if self._processor is not None:
            images = [img for item in batch for img in item.images]
            inputs = self._processor(text=prompts, images=images or None, return_tensors="pt", padding=True)
        else:
            inputs = self._tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=not templated)
        return inputs.to(self.device)

    def _has_template(self) -> bool:
        owner = self._processor if self._processor is not None else self._tokenizer
        return bool(getattr(owner, "chat_template", None))

    def _prompt(self, messages: tuple[Message, ...]) -> str:
        if not self._has_template():  # a base model: the texts, in order
            return "\n\n".join(m.text for m in messages if m.text)
        owner = self._processor if self._processor is not None else self._tokenizer
        chat = [{"role": m.role, "content": self._content(m)} for m in messages]
        return owner.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)

    def _content(self, message: Message) -> Any:
        if self._processor is None:
            return message.text
        parts: list[dict[str, Any]] = []
        for part in message.content:
            if isinstance(part, Image):
                parts.append({"type": "image"})
            elif isinstance(part, Text):
                parts.append({"type": "text", "text": part.text})
        return parts

    def _generation_kwargs(self, config: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"max_new_tokens": config.max_tokens or self.max_new_tokens,
                                  "pad_token_id": self._tokenizer.pad_token_id}
        if config.temperature:
            kwargs.update(do_sample=True, temperature=config.temperature)
            if config.top_p is not None:
                kwargs["top_p"] = config.top_p
        else:
            kwargs["do_sample"] = False
        if config.stop:
            kwargs.update(stop_strings=list(config.stop), tokenizer=self._tokenizer)
        kwargs.update(config.extra)
        return kwargs

    def _count_new(self, tokens: Any) -> int:
        """Generated tokens up to and including the first end-of-sequence (padding after it is not counted)."""
        ids = tokens.tolist()
        eos = self._tokenizer.eos_token_id
        if eos is not None and eos in ids:
            return ids.index(eos) + 1
        pad = self._tokenizer.pad_token_id
        return sum(1 for t in ids if t != pad) if pad != eos else len(ids)

    async def aclose(self) -> None:
        if self._worker is not None and not self._worker.done():
            await asyncio.wait([self._worker], timeout=60)
        if self._model is not None:
            self._model = None
            if self.device.startswith("cuda"):
                import torch

                torch.cuda.empty_cache()  # hand the memory back for a judge or the next model


def _has_vision(config_path: Path) -> bool | None:
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return isinstance(config, dict) and isinstance(config.get("vision_config"), dict)


def _pick_device(torch: Any, option: str) -> str:
    if option != "auto":
        if option.startswith("cuda") and not torch.cuda.is_available():
            raise AdapterError(f"-M device={option}: no CUDA device is available")
        return option
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _pick_dtype(torch: Any, option: str, device: str) -> Any:
    if option != "auto":
        return getattr(torch, option)
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def _pil(image: Image) -> Any:
    import io

    from PIL import Image as PILImage

    if hasattr(image.source, "convert"):
        return image.source.convert("RGB")
    from evalkit.images import describe, pil_reason

    try:
        return PILImage.open(io.BytesIO(image.data())).convert("RGB")
    except OSError as exc:
        raise AdapterError(f"image {describe(image)}: cannot be read ({pil_reason(exc)})") from None


def _cut_at_stop(text: str, stop: tuple[str, ...] | None) -> str:
    if not stop:
        return text
    cut = min((i for s in stop if (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]
