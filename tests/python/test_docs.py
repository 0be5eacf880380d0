"""The documentation's runnable examples run, against a real database."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _first_python_block(path: Path) -> str:
    match = re.search(r"```python\n(.*?)```", path.read_text(), re.S)
    assert match, f"no python block in {path}"
    return match.group(1)


def test_python_api_example_runs(app_url: str, sequencer_url: str) -> None:
    """As the application role (and the sequencer's): the example needs no more privileges than those have."""
    code = _first_python_block(ROOT / "docs" / "python-api.md")
    exec(compile(code, "docs/python-api.md", "exec"), {"URL": app_url, "SEQUENCER_URL": sequencer_url})
