"""Benchmarks: ``run`` (``dualbook bench``: every workload side by side), ``pgbench`` (``make bench-sql``: the
commit ceiling against ``post_entry``, and the pgbench and server-CPU plumbing both use) and ``cost`` (what each
index and CHECK costs). The pgbench scripts are in ``workloads/``."""
