"""Tools around the ledger, kept out of the client's import graph: the demo, the benchmarks and the
certification suite's invariant checker. The CLI imports them only when one of their commands runs."""
