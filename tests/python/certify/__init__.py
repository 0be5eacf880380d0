"""The certification suite of issue 6: randomised, interleaved, partially failed transactions and real crashes
against real PostgreSQL processes, each checked by :func:`dualbook.certify.check_invariants`."""
