"""The hf adapter on tiny randomly initialised transformers models built here (no download).

Skipped cleanly when torch or transformers (the ``evalkit[hf]`` extra) are not installed.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from conftest import write_mcq  # noqa: E402

from evalkit.adapters import AdapterError, make_adapter  # noqa: E402
from evalkit.results import load_run  # noqa: E402
from evalkit.runner import RunConfig, run_sync  # noqa: E402
from evalkit.tasks import get_task  # noqa: E402
from evalkit.types import GenerationConfig, Image, Message, Request, Response, Text  # noqa: E402

os.environ["HF_HUB_OFFLINE"] = "1"
WORDS = ["<pad>", "<s>", "</s>", "<unk>", "<image>", "user", "assistant", "system", ":", "."] + \
    [f"w{i}" for i in range(40)] + list("ABCD") + ["Question", "The", "answer", "is", "which", "option", "right"]
TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }} : {% if m['content'] is string %}{{ m['content'] }} {% else %}"
    "{% for c in m['content'] %}{% if c['type'] == 'image' %}<image> {% else %}{{ c['text'] }} {% endif %}"
    "{% endfor %}{% endif %}</s> {% endfor %}{% if add_generation_prompt %}assistant : {% endif %}"
)


def _tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>", extra_special_tokens={"image_token": "<image>"})
    fast.chat_template = TEMPLATE
    return fast


def _text_config():  # type: ignore[no-untyped-def]
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(WORDS), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                       pad_token_id=0, bos_token_id=1, eos_token_id=2)


@pytest.fixture(scope="module")
def text_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import LlamaForCausalLM

    path = tmp_path_factory.mktemp("tiny-llama")
    _tokenizer().save_pretrained(path)
    torch.manual_seed(0)
    LlamaForCausalLM(_text_config()).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def vision_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    try:
        from transformers import CLIPImageProcessorPil as ImageProcessor  # no torchvision needed
    except ImportError:
        from transformers import CLIPImageProcessor as ImageProcessor

    path = tmp_path_factory.mktemp("tiny-llava")
    processor = LlavaProcessor(
        image_processor=ImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16}),
        tokenizer=_tokenizer(), patch_size=8, vision_feature_select_strategy="default", chat_template=TEMPLATE,
        num_additional_image_tokens=1)
    processor.save_pretrained(path)
    vision = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                              image_size=16, patch_size=8, projection_dim=16)
    config = LlavaConfig(vision_config=vision, text_config=_text_config(), image_token_id=4,
                         vision_feature_select_strategy="default", vision_feature_layer=-1, pad_token_id=0)
    torch.manual_seed(0)
    LlavaForConditionalGeneration(config).save_pretrained(path)
    return path


def ask_all(adapter, requests: list[Request]) -> list[Response]:  # type: ignore[no-untyped-def]
    async def go() -> list[Response]:
        try:
            return await asyncio.gather(*(adapter.generate(r) for r in requests))
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def user(*parts: Text | Image, config: GenerationConfig | None = None) -> Request:
    return Request((Message("user", parts),), config or GenerationConfig(max_tokens=3))


def test_text_model_batches_concurrent_requests(text_model: Path) -> None:
    adapter = make_adapter(f"hf:{text_model}", {"batch_size": "4", "device": "cpu", "batch_wait_ms": "20"})
    assert adapter.text_only
    got = ask_all(adapter, [user(Text(f"Question w{i} which option is right")) for i in range(10)])
    assert all(r.ok for r in got), [r.error for r in got]
    assert all(isinstance(r.text, str) and len(r.text.split()) <= 3 for r in got)
    assert all(1 <= r.usage.completion_tokens <= 3 for r in got)
    # "user : Question wI which option is right </s> assistant :" is 11 tokens for every request
    assert {r.usage.prompt_tokens for r in got} == {11}
    assert 3 <= adapter.batches < 10 and max(r.meta["batch_size"] for r in got) == 4
    assert got[0].meta["device"] == "cpu"


def test_greedy_output_does_not_depend_on_batching(text_model: Path) -> None:
    prompts = [user(Text(f"The answer is w{i}"), config=GenerationConfig(max_tokens=4)) for i in range(4)]
    alone = [ask_all(make_adapter(f"hf:{text_model}", {"batch_size": "1"}), [p])[0].text for p in prompts]
    together = [r.text for r in ask_all(make_adapter(f"hf:{text_model}", {"batch_size": "4"}), prompts)]
    assert alone == together


def test_a_whole_run_with_a_local_model(tmp_path: Path, text_model: Path) -> None:
    task = get_task(str(write_mcq(tmp_path / "mcq.jsonl", 6)))
    adapter = make_adapter(f"hf:{text_model}", {"max_new_tokens": "4"})
    out = run_sync(task, adapter, RunConfig(output=tmp_path / "run", progress=False, use_cache=False))
    results = load_run(out.path).results
    assert len(results) == 6 and not any(r.error for r in results)
    assert all(r.score.status in ("wrong", "unparsed", "correct") for r in results)


def test_vision_language_model_sees_the_image(vision_model: Path, tmp_path: Path) -> None:
    from PIL import Image as PILImage

    png = tmp_path / "red.png"
    PILImage.new("RGB", (40, 30), "red").save(png)
    adapter = make_adapter(f"hf:{vision_model}", {"batch_size": "2"})
    assert not adapter.text_only
    got = ask_all(adapter, [user(Image(png), Text("w1 w2")), user(Text("w3 w4"))])
    assert all(r.ok for r in got), [r.error for r in got]
    # "user : <image> w1 w2 </s> assistant :" with the image expanded to its 4 patch tokens
    assert (got[0].usage.prompt_tokens, got[1].usage.prompt_tokens) == (11, 7)


def test_errors_are_one_sentence_on_the_sample(tmp_path: Path, text_model: Path, vision_model: Path) -> None:
    with pytest.raises(AdapterError, match="no config.json"):
        make_adapter(f"hf:{tmp_path}")
    missing = ask_all(make_adapter("hf:nobody/no-such-model-xyz"), [user(Text("hi"))])[0]
    assert missing.error and "cannot load" in missing.error and not missing.retryable
    png = tmp_path / "dot.png"
    png.write_bytes(b"not a png")
    bad = ask_all(make_adapter(f"hf:{vision_model}"), [user(Image(png), Text("w1")), user(Text("w2"))])
    assert bad[0].error and "dot.png" in bad[0].error and bad[1].ok
    text_only = ask_all(make_adapter(f"hf:{text_model}"), [user(Image(png), Text("w1"))])[0]
    assert text_only.error and "text-only" in text_only.error


def test_device_map_loads_or_says_what_is_missing(text_model: Path) -> None:
    got = ask_all(make_adapter(f"hf:{text_model}", {"device_map": "auto"}), [user(Text("w1"))])[0]
    try:
        import accelerate  # noqa: F401
    except ImportError:
        assert got.error and "accelerate" in got.error and not got.retryable
    else:
        assert got.ok
