"""Who may do what: the role groups that routes, pages and services check, defined once.

Each group is named after the thing it allows, so a route says what it does, not who the
people are. Which *cases* someone may see is a separate, per-queue rule (need-to-know, see
`trustdesk.cases.access`): holding a role from a group admits the caller to the route, and the
queue's required roles then decide whether the case is theirs to see.

Decisions behind the members:
- Reviewing is front-line work: moderators, seniors, escalation and child-safety specialists.
  QA leads and admins read cases but do not take them from queues; a person who does both
  holds both roles.
- Assigning a case to a named reviewer is a team lead's call: seniors, and admins who run the
  team; the privacy team hands its own cases on among itself.
- Enforcing outside a held case (direct and cascade decisions, bulk, undo, notifier measures)
  needs seniority or the escalation desk, or an admin.
- Escalating a case to a tier is open to everyone who works cases, legal staff and admins
  (each only on the cases they may see); de-escalating is for the people who staff the tiers:
  seniors, the escalation desk, legal, child safety, and admins (who staff the engineering tier).
  The same people comment on cases, internally or as notes the requester of an escalation reads.
- Appeal outcomes per reviewer and policy are quality figures: for QA leads, analysts, the
  seniors who lead reviewers, and admins.
- Rules (the conditions that route, label and decide automatically) are read by those who lead
  and measure review: seniors, QA leads, analysts, and admins, who alone change them. Reviewers
  see which rules hit the cases they work, not the conditions, which would teach evasion if
  they travelled further.
- The transparency report (DSA Art. 15/24) is aggregate figures for the public and the
  regulator: analysts compile it, legal staff answer for it, admins run the system it comes from.
- Reports to NCMEC's CyberTipline are built, filed and retracted by child-safety staff alone:
  they hold the cases and the duty; legal reads the evidence through its holds.
- Legal holds and their evidence (placing, reading, exporting, releasing) are for legal and
  child-safety staff only: evidence sets hold everything about a person, CSAM reports included,
  and every access is on the hold's chain of custody. Admins configure; they do not read evidence.
- Law-enforcement and regulatory requests (intake, legal review, disclosure, closure) are legal
  staff's alone: they answer the authorities, and a request under a non-disclosure order must
  not reach anyone who might tip its subject off.
- Privacy requests (intake, identity checks, extensions, access exports and erasures) are the
  privacy team's: an access export holds everything about a person, and an erasure cannot be undone.
  The privacy team works its requests' cases like any case (the case page, comments, taking
  and handing them on among itself), and no other case: privacy is a role *confined* to the
  queues that name it, so the queues open to every staff member are not open to it (someone
  who also moderates holds both roles).
- Personal data is revealed, audited, to those who work cases and to privacy and legal staff;
  admins configure the system and do not need it.
"""

from __future__ import annotations

from trustdesk.domain.vocabulary import Role

REVIEWERS = (Role.MODERATOR, Role.SENIOR, Role.ESCALATIONS, Role.CHILD_SAFETY)
CASE_TAKERS = (*REVIEWERS, Role.PRIVACY)
ASSIGNERS = (Role.SENIOR, Role.ADMIN, Role.PRIVACY)
ENFORCERS = (Role.SENIOR, Role.ESCALATIONS, Role.ADMIN)
REVEALERS = (*REVIEWERS, Role.PRIVACY, Role.LEGAL)
ADMINS = (Role.ADMIN,)
TIER_STAFF = (Role.SENIOR, Role.ESCALATIONS, Role.LEGAL, Role.CHILD_SAFETY, Role.ADMIN)
CASE_STAFF = (*REVIEWERS, Role.LEGAL, Role.PRIVACY, Role.ADMIN)
QUALITY_READERS = (Role.QA, Role.ANALYST, Role.SENIOR, Role.ADMIN)
RULE_READERS = (Role.SENIOR, Role.QA, Role.ANALYST, Role.ADMIN)
TRANSPARENCY_READERS = (Role.ANALYST, Role.LEGAL, Role.ADMIN)
CHILD_SAFETY_REPORTERS = (Role.CHILD_SAFETY,)
EVIDENCE_KEEPERS = (Role.LEGAL, Role.CHILD_SAFETY)
LEGAL_REQUEST_STAFF = (Role.LEGAL,)
PRIVACY_STAFF = (Role.PRIVACY,)
# Roles that see only the queues requiring them, not the queues open to every staff member.
CONFINED = frozenset({Role.PRIVACY.value})
# The roles of the teams whose cases are need-to-know (child sexual exploitation, legal matters,
# privacy requests): a queue open only to them keeps its subjects from everyone else, while a
# queue open to more senior staff (appeals, tiers, imminent harm) decides who acts, not who knows.
COMPARTMENTS = frozenset({Role.CHILD_SAFETY.value, Role.LEGAL.value, Role.PRIVACY.value})
