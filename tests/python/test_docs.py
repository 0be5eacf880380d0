"""The documentation's runnable examples run, against a real database."""

from __future__ import annotations

import re
from pathlib import Path

from dualbook.db import roles

ROOT = Path(__file__).resolve().parents[2]


def _first_python_block(path: Path) -> str:
    match = re.search(r"```python\n(.*?)```", path.read_text(), re.S)
    assert match, f"no python block in {path}"
    return match.group(1)


def test_python_api_example_runs(replica_urls: tuple[str, str]) -> None:
    """On a primary and its streaming replica, as the application role (and the sequencer's): the example needs no
    more privileges than those have."""
    url, replica_url = replica_urls
    code = _first_python_block(ROOT / "docs" / "python-api.md")
    names = {
        "URL": roles.url_as(url, roles.APP),
        "READ_URL": roles.url_as(replica_url, roles.APP),
        "SEQUENCER_URL": roles.url_as(url, roles.SEQUENCER),
    }
    exec(compile(code, "docs/python-api.md", "exec"), names)
