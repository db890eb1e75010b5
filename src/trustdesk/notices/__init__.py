"""Notices: messages to the people a decision concerns, and staff replies.

A notice is written in the transaction of what it tells of (a decision, an appeal's outcome,
an escalation's outcome), rendered then from the per-locale templates, and kept as sent. It
leaves by the app's notice channel: `webhook` hands it to the host platform as a
`notice.requested` event through the outbox; `smtp` has the worker mail it.

Confidentiality by default: no template names a reporter, a victim or a member of staff, and
none mentions a report to the authorities. A decision under a child-safety policy (one mapped
to an NCMEC incident type) restricts the account without telling it why: its user notice is
written but withheld, with the reason, so that nothing tips off someone who may be reported to
the authorities; the notifier is told only that their report was reviewed and acted on.
"""
