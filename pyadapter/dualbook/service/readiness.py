"""Readiness: the database answers, and the schema deployed in it is one this build can serve.

The build expects the **last change of its packaged plan** (``dualbook.db.migrate``) -- by name and planning time,
so a reworked change's earlier version does not count. The schema is

* ``exact`` when that change is the newest deployed: ready;
* ``ahead`` when it is deployed and newer changes are too (the next release's migrations ran before its cutover):
  ready, because migrations follow the expand/contract rule (docs/deploy.md): a release only adds what the
  previous release ignores, and removes only what no running release uses any more;
* otherwise (the change is missing: the schema is behind, or was reverted) **not ready**: a blue/green cutover
  never sends traffic to a schema the build does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dualbook.db.migrate import migrations_dir

PROJECT = "dualbook"


@dataclass(frozen=True)
class PlannedChange:
    name: str
    planned_at: datetime


def expected_change() -> PlannedChange:
    """The last change of the packaged plan (tags skipped)."""
    last: PlannedChange | None = None
    for line in (migrations_dir() / "sqitch.plan").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("%", "#", "@")):
            continue
        words = line.split()
        stamp = next(w for w in words[1:] if w[:1].isdigit() and w.endswith("Z"))
        last = PlannedChange(words[0], datetime.fromisoformat(stamp.replace("Z", "+00:00")))
    if last is None:
        raise ValueError("the packaged plan has no change")
    return last


#: (is the expected change deployed, the newest deployed change)
READY_SQL = """
SELECT EXISTS (SELECT 1 FROM sqitch.changes
                WHERE project = %(project)s AND change = %(change)s AND planned_at = %(planned_at)s),
       (SELECT change FROM sqitch.changes WHERE project = %(project)s
         ORDER BY committed_at DESC, change_id DESC LIMIT 1)
"""
