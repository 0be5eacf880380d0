"""`python -m dualbook.cli`: the same as the `dualbook` command."""

from dualbook.cli.main import main

main()
