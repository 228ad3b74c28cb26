"""A third-party adapter is one class plus one entry point: installed, it is usable and listed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PLUGIN = '''
from evalkit.adapters.base import Adapter
from evalkit.types import Request, Response


class ShoutAdapter(Adapter):
    scheme = "shout"
    description = "Answers with the last user message in capitals (an example plug-in)."
    options_doc = {"suffix": "text appended to every answer"}

    async def generate(self, request: Request) -> Response:
        return Response(text=request.messages[-1].text.upper() + self.options.get("suffix", ""))
'''


def install_plugin(site: Path) -> None:
    """What ``pip install`` of a package declaring the entry point leaves on disk."""
    (site / "evalkit_shout.py").write_text(PLUGIN)
    info = site / "evalkit_shout-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evalkit-shout\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[evalkit.adapters]\nshout = evalkit_shout:ShoutAdapter\n")


def test_entry_point_adapter_runs_and_is_listed(tmp_path: Path) -> None:
    install_plugin(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    code = (
        "import asyncio\n"
        "from evalkit.adapters import make_adapter\n"
        "from evalkit.types import Message, Request, Text\n"
        "a = make_adapter('shout:v1', {'suffix': '!'})\n"
        "print(asyncio.run(a.generate(Request((Message('user', (Text('pick b'),)),)))).text)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "PICK B!"
    listing = subprocess.run([sys.executable, "-c", "from evalkit.cli import main; main()", "list", "adapters"],
                             env={**env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "shout" in listing.stdout and "example plug-in" in listing.stdout
