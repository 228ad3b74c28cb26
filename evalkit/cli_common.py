"""What every ``evalkit`` command shares: the one-sentence failure and the parsing of common flags.

The command modules (``cli``, ``cli_report``, ``cli_grade``, ``cli_sweep``) import from here and
never from each other's helpers, so the arrows between them run one way (``cli`` registers the
others).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from evalkit.types import GenerationConfig


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: MESSAGE`` on stderr and exit (2: the user's mistake)."""
    echo_error(message)
    raise typer.Exit(code)


def echo_error(message: str) -> None:
    """``error: MESSAGE`` on stderr, with known secrets and URL credentials scrubbed (see evalkit.redact)."""
    from evalkit.redact import scrub

    typer.echo(f"error: {scrub(str(message))}", err=True)


def parse_pairs(pairs: list[str] | None, flag: str) -> dict[str, Any]:
    """``["a=1", "b=x"]`` → ``{"a": "1", "b": "x"}``; a pair without ``=`` is a user error."""
    out: dict[str, Any] = {}
    for item in pairs or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"{flag} {item!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


def parse_json_pairs(pairs: list[str] | None, flag: str) -> dict[str, Any]:
    """Like :func:`parse_pairs`, but values that read as JSON (``20``, ``true``, ``[1,2]``) become JSON."""
    out = parse_pairs(pairs, flag)
    for key, value in out.items():
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            pass
    return out


def endpoint_options(model_opt: list[str] | None, base_url: str | None, api_key_env: str | None) -> dict[str, Any]:
    """The adapter options of ``-M KEY=VALUE``, ``--base-url`` and ``--api-key-env`` together."""
    options = parse_pairs(model_opt, "-M")
    if base_url:
        options["base_url"] = base_url
    if api_key_env:
        options["api_key_env"] = api_key_env
    return options


@contextmanager
def command_outcome(command: str, before_any_folder: str) -> Iterator[None]:
    """How ``run`` and ``sweep`` end when they cannot finish: Ctrl-C (exit 130, saying how to resume,
    or ``before_any_folder`` when nothing was written yet) or a user's mistake (one sentence, exit 2)."""
    from evalkit.errors import EvalkitError
    from evalkit.verdict import Interrupted

    try:
        yield
    except Interrupted as exc:
        typer.echo("\n" + exc.hint(command), err=True)
        raise typer.Exit(130) from None
    except KeyboardInterrupt:
        typer.echo("\n" + before_any_folder, err=True)
        raise typer.Exit(130) from None
    except EvalkitError as exc:
        fail(str(exc), exc.exit_code)


def generation(max_tokens: int | None, temperature: float | None, top_p: float | None,
               stop: list[str] | None, gen: list[str] | None) -> GenerationConfig:
    """The generation flags (``--max-tokens``, ``--temperature``, ``--top-p``, ``--stop``, ``-G``) as one config."""
    from evalkit.types import GenerationConfig

    extra = parse_json_pairs(gen, "-G")
    return GenerationConfig(max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                            stop=tuple(stop) if stop else None, extra=extra)


def adapter_options_for(uri: str, opts: dict[str, Any]) -> dict[str, Any]:
    """Endpoint options only go to adapters that declare them (baselines take none)."""
    from evalkit.adapters import adapters

    cls = adapters.get(uri.partition(":")[0])
    return {k: v for k, v in opts.items() if k in cls.options_doc or k not in ("base_url", "api_key_env")}


def print_errors(summary: dict[str, Any], console: Any) -> None:
    """The failed samples grouped by reason, with counts and a few ids (text from servers is never markup)."""
    from evalkit.redact import scrub

    groups = summary.get("errors") or []
    if not groups:
        return
    failed = sum(g["count"] for g in groups)
    n = summary.get("counts", {}).get("n", failed)
    console.print(f"errors: {failed} of {n} samples failed", style="bold red", markup=False, highlight=False, soft_wrap=True)
    for group in groups:
        more = "" if group["count"] <= len(group["ids"]) else ", …"
        console.print(f"  {group['count']}× {scrub(group['reason'])}  ({', '.join(group['ids'])}{more})",
                      markup=False, highlight=False, soft_wrap=True)
