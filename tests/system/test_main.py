"""``python -m bot`` is the ``newsbot`` command line (same parser, same exit codes)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version


def test_python_m_bot_version() -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "--version"], capture_output=True, text=True, check=False,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"newsbot {version('newsbot')}"


def test_python_m_bot_usage_error_exits_2() -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "no-such-command"], capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 2
    assert "usage:" in done.stderr
