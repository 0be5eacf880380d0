"""The tamper-evident journal: :mod:`dualbook.audit.journal` seals and verifies in the database and exports;
:mod:`dualbook.audit.verify` checks an export offline with the standard library only
(``python -m dualbook.audit.verify FILE``). This file imports neither, so the offline verifier needs no driver."""
