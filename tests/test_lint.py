"""The code passes ruff with the project's rules (pyproject.toml [tool.ruff]): CI fails on a finding."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (sh tests/run.sh installs it with the test tools)")
    r = subprocess.run([ruff, "check", "--no-cache", "--output-format", "concise", str(REPO)],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_would_catch_an_unused_import(tmp_path):
    """The check is live: the same rules find a planted mistake."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (sh tests/run.sh installs it with the test tools)")
    (tmp_path / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "bad.py").write_text("import os\n", encoding="utf-8")
    r = subprocess.run([ruff, "check", "--no-cache", str(tmp_path / "bad.py")], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 1 and "F401" in r.stdout
