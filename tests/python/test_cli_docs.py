"""docs/cli.md and the CLI say the same: the exit codes of `dualbook --help`, and the header of `account list`."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from dualbook.cli import main
from dualbook.cli.common import (
    EXIT_BUSY,
    EXIT_CLUSTER,
    EXIT_CONFIG,
    EXIT_CONFLICT,
    EXIT_FAILED,
    EXIT_INFRASTRUCTURE,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VALIDATION,
)
from dualbook.cli.exitcodes import EXIT_CODES

CLI_MD = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def documented_exit_codes() -> dict[int, str]:
    text = CLI_MD.read_text()
    section = text[text.index("## Errors and exit codes") : text.index("## Commands")]
    return {int(m[1]): m[2] for m in re.finditer(r"^\| (\d+) \| (.*?) \|", section, re.M)}


def help_exit_codes() -> dict[int, str]:
    out = CliRunner().invoke(main, ["--help"]).stdout
    block = out[out.index("Exit codes:") : out.index("Example:")]
    return {int(m[1]): m[2].strip() for m in re.finditer(r"^\s+(\d)  (.*)$", block, re.M)}


def test_help_and_cli_md_list_the_same_exit_codes() -> None:
    helped, documented = help_exit_codes(), documented_exit_codes()
    assert helped == dict(EXIT_CODES)
    assert sorted(documented) == sorted(helped)
    for code, text in helped.items():
        assert documented[code].startswith(text), (code, text, documented[code])
    constants = [EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG, EXIT_CLUSTER, EXIT_VALIDATION, EXIT_CONFLICT]
    assert sorted([*constants, EXIT_INFRASTRUCTURE, EXIT_BUSY]) == sorted(helped)


def test_account_list_header_is_documented(role_env: dict[str, str]) -> None:
    for args in (["account", "create", "bank", "--currency", "USD", "--type", "asset"],):
        assert CliRunner().invoke(main, args, env=role_env).exit_code == 0
    out = CliRunner().invoke(main, ["account", "list"], env=role_env).stdout
    header = out.splitlines()[0].split()
    text = CLI_MD.read_text()
    section = text[text.index("### `account list`") : text.index("### `account show`")]
    documented = next(line for line in section.splitlines() if line.startswith("Code "))
    assert documented.split() == header
