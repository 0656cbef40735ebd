"""Which modules a piece of code imports, asked of a fresh interpreter.

The tests that keep a path light (reading a scenario, reading the command's arguments, a
pool's fork server, the summaries) each run a few lines in a new Python at the project's
root and list what they left imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_by(code: str, modules: Iterable[str]) -> list[str]:
    """Those of ``modules`` that ``code`` leaves imported; ``"x."`` stands for any ``x.*``."""
    probe = (
        f"{code}\n"
        "import json as _json, sys as _sys\n"
        f"_wanted = {json.dumps(sorted(modules))}\n"
        "print(_json.dumps(sorted({m for m in _sys.modules for w in _wanted"
        " if m == w or (w.endswith('.') and m.startswith(w))})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found
