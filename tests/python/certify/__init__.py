"""The certification suite: randomised, interleaved, partially failed transactions and real crashes
against real PostgreSQL processes, each checked by :func:`dualbook.tools.certify.check_invariants`."""
