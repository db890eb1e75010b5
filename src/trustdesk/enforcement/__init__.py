"""Enforcement: decisions on cases and subjects, and what they do.

- `decisions`: a reviewer's (or bulk/rule) decision under a policy version, closing reports;
- `actions`: applying actions to subjects (with cascades), previewing and undoing them;
- `strikes`: strikes on accounts and the graduated sanctions of the ladder;
- `notifiers`: reporter trust and the DSA Art. 23(2) measures against unfounded notices;
- `bulk`: one decision on many subjects, run by the worker.

Everything here changes state on TrustDesk's side only; delivery to the host platform is
left to an outbox (actions are marked `delivery: pending`).
"""
