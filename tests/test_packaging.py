"""The built-in tasks travel inside the wheel: an installed evalkit finds them without a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO


def test_wheel_carries_the_builtin_tasks(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr
    wheel = next(tmp_path.glob("evalkit-*.whl"))
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    assert (site / "evalkit" / "_builtin_tasks" / "gaokao-math" / "task.yaml").exists()
    probe = (
        "import evalkit.tasks as t; d = t.builtin_task_dir(); "
        "task = t.get_task('gaokao-math'); print(d); print(len(task.samples))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    where, count = out.stdout.split()
    assert where.startswith(str(site)) and count == "19"
