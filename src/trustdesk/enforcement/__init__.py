"""Enforcement: decisions on cases and subjects, and what they do.

- `decisions`: a reviewer's (or bulk/rule) decision under a policy version, closing reports;
- `actions`: applying actions to subjects (with cascades), previewing and undoing them;
- `strikes`: strikes on accounts and the graduated sanctions of the ladder;
- `notifiers`: reporter trust and the DSA Art. 23(2) measures against unfounded notices;
- `bulk`: one decision on many subjects, run by the worker;
- `suspensions`: timed suspensions lifted when they end, by the worker.

Each action applied, reversed or ended is announced to the host platform through the outbox
(`trustdesk.delivery`), in the transaction that changes it.
"""
