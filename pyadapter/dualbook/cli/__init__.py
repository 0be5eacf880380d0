"""The ``dualbook`` command line (click): the root group in :mod:`dualbook.cli.main`, one module per command group."""

from dualbook.cli.main import main

__all__ = ["main"]
