"""The closed sets of words the domain uses: subject kinds, reporter types, roles, scopes.

Kept as `StrEnum`s so that they serialise as plain strings in the API and the database.
To add a subject kind, add a member here; nothing else needs to change.
"""

from __future__ import annotations

from enum import StrEnum


class SubjectKind(StrEnum):
    ACCOUNT = "account"
    PROFILE = "profile"
    PHOTO = "photo"
    AUDIO = "audio"
    VIDEO = "video"
    MESSAGE = "message"
    CONVERSATION = "conversation"
    LISTING = "listing"
    SHOP = "shop"
    REVIEW = "review"
    COMMENT = "comment"
    POST = "post"


class MediaKind(StrEnum):
    """What a media file is, as found in its bytes; decides how the console offers it."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    OTHER = "other"


class MediaSource(StrEnum):
    UPLOAD = "upload"
    URL = "url"


class MediaStatus(StrEnum):
    PENDING = "pending"  # waiting for its URL to be fetched
    STORED = "stored"  # checked and in the blob store
    REFUSED = "refused"  # not acceptable media (the reason says why); nothing stored
    UNCHECKED = "unchecked"  # stored before types were found from the bytes; `trustdesk db upgrade` checks it


class HashAlgorithm(StrEnum):
    MD5 = "md5"
    SHA256 = "sha256"
    PDQ = "pdq"  # perceptual (images): near copies match within a bank's threshold


class Visibility(StrEnum):
    VISIBLE = "visible"
    RESTRICTED = "restricted"
    AGE_RESTRICTED = "age_restricted"
    REMOVED = "removed"
    DISABLED = "disabled"
    SUSPENDED = "suspended"
    BANNED = "banned"


class ReporterType(StrEnum):
    USER = "user"
    TRUSTED_FLAGGER = "trusted_flagger"
    ANONYMOUS = "anonymous"
    AUTOMATED = "automated"
    SUPPORT = "support"
    LEGAL = "legal"


class ReportStatus(StrEnum):
    OPEN = "open"
    ACTIONED = "actioned"
    UNFOUNDED = "unfounded"
    HELD = "held"  # from a suspended notifier: recorded, not queued


class CaseKind(StrEnum):
    """What a case is for. A subject has at most one open `report` case, which all its open
    reports join; the other kinds may have several open at once (two appeals, say)."""

    REPORT = "report"
    APPEAL = "appeal"
    ESCALATION = "escalation"
    # Legal duties: due by a calendar deadline (`cases.legal_due_at`), not a band's SLA minutes.
    PRIVACY_REQUEST = "privacy_request"
    LAW_ENFORCEMENT_REQUEST = "law_enforcement_request"


class CaseTier(StrEnum):
    """The escalation tier a case sits at (a case at no tier is in its routed queue).

    Each tier has its own queue restricted to its roles; escalating moves the case there.
    """

    SENIOR = "senior"
    ESCALATIONS = "escalations"
    LEGAL = "legal"
    CHILD_SAFETY = "child_safety"
    LAW_ENFORCEMENT = "law_enforcement"
    IMMINENT_HARM = "imminent_harm"
    ENGINEERING = "engineering"


class Urgency(StrEnum):
    """How urgent an escalation is: it raises the case's priority (`trustdesk.domain.priority`)."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class EscalationStatus(StrEnum):
    """Where an escalation stands. A case has at most one `open` escalation (a database rule)."""

    OPEN = "open"  # the case sits at its tier
    MOVED = "moved"  # escalated on to another tier; the newer escalation is the open one
    DE_ESCALATED = "de_escalated"  # sent back to the queue it came from, with a note


class CommentVisibility(StrEnum):
    """Who reads a case comment: staff only, or also the requester of an escalation filed through the API."""

    INTERNAL = "internal"
    REQUESTER = "requester"


class DecisionKind(StrEnum):
    """How a decision came about. Every kind judges (policy, verdict, rationale); actions are optional."""

    REVIEW = "review"  # a reviewer deciding a case they hold
    DIRECT = "direct"  # a senior acting on a subject outside a case (a cascade takedown, say)
    BULK = "bulk"  # one item of a bulk operation
    AUTOMATED = "automated"  # a rule decided, with no reviewer
    APPEAL = "appeal"  # the outcome of an appeal: judges the appealed decision, acts only to reverse it
    SECOND_OPINION = "second_opinion"  # judges without acting


class Appellant(StrEnum):
    """Who appeals a decision (DSA Art. 20): the user it was taken against, or the notifier
    whose notice it turned down."""

    USER = "user"
    NOTIFIER = "notifier"


class AppealOutcome(StrEnum):
    UPHELD = "upheld"  # the decision stands
    OVERTURNED = "overturned"  # the decision is reversed: its actions withdrawn, or its notice reviewed again


class NoticeKind(StrEnum):
    DECISION = "decision"  # to the user: what was restricted, why, how to appeal
    REPORT_OUTCOME = "report_outcome"  # to a notifier: "we reviewed your report and …"
    APPEAL_OUTCOME = "appeal_outcome"  # to the appellant: upheld or overturned
    ESCALATION_OUTCOME = "escalation_outcome"  # to the requester of an escalation filed through the API
    REPLY = "reply"  # a staff reply written from a template


class NoticeRecipient(StrEnum):
    USER = "user"  # the account a decision concerns
    NOTIFIER = "notifier"  # the person who filed a report
    REQUESTER = "requester"  # the CX or support person who filed an escalation


class NoticeChannel(StrEnum):
    WEBHOOK = "webhook"  # a `notice.requested` event: the host platform sends it
    SMTP = "smtp"  # mailed by the worker


class NoticeState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    WITHHELD = "withheld"  # written but deliberately not sent (the reason is kept)


class AutomatedDecision(StrEnum):
    """Whether automation decided, in the DSA Transparency Database's words."""

    FULLY = "fully"
    PARTIALLY = "partially"
    NOT_AUTOMATED = "not_automated"


class AccountEventKind(StrEnum):
    REGISTRATION = "registration"
    LOGIN = "login"
    PURCHASE = "purchase"
    PASSWORD_RESET = "password_reset"
    PROFILE_CHANGE = "profile_change"
    PAYMENT_METHOD_ADDED = "payment_method_added"


class Role(StrEnum):
    MODERATOR = "moderator"
    SENIOR = "senior"
    ESCALATIONS = "escalations"
    QA = "qa"
    PRIVACY = "privacy"
    LEGAL = "legal"
    CHILD_SAFETY = "child-safety"
    ANALYST = "analyst"
    ADMIN = "admin"


class Scope(StrEnum):
    """What an API client token may do."""

    SUBJECTS_WRITE = "subjects:write"
    SUBJECTS_READ = "subjects:read"
    REPORTS_WRITE = "reports:write"
    EVENTS_WRITE = "events:write"
    ESCALATIONS_WRITE = "escalations:write"
    APPEALS_WRITE = "appeals:write"
    EVALUATE_WRITE = "evaluate:write"  # synchronous verdicts (stores the subject as intake does)
    # Law-enforcement and regulatory requests: granted explicitly, never by an older token's scopes.
    LEGAL_WRITE = "legal:write"
    PRIVACY_WRITE = "privacy:write"  # privacy requests the host platform received (its own scope: not implied by older ones)
    # Monthly active recipients for the transparency report (DSA Art. 24(2)): its own scope, not implied by older ones.
    TRANSPARENCY_WRITE = "transparency:write"

