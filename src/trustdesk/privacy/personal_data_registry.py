"""Every column and blob that holds personal data, declared once, with its kind of data.

The rule that keeps this whole: every column that can hold free text, JSON or bytes (String,
Text, JSON, LargeBinary) is declared here, either in `PERSONAL` with its data kind or in
`NOT_PERSONAL`. `tests/privacy/test_personal_data_registry.py` inspects the models and fails on
a column in neither, so a new column forces the decision; numbers, flags and times are not
declared (an id points at data declared where it lives).

The data kind decides how long the data is kept (`trustdesk.privacy.retention`) and what an
access export or erasure does with it. Pseudonyms (the host platform's ids) stay after erasure:
they are how the host platform and the records of decisions name the subject, and with the
rest erased they say nothing more.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import JSON, LargeBinary, MetaData, String, Text


class DataKind(StrEnum):
    CONTENT = "content"  # what a person wrote or uploaded: text, titles, media, links
    CONTACT = "contact"  # email, phone, name: `subjects.personal`, notifiers' identity
    NETWORK = "network"  # IP addresses, device ids, payment fingerprints, phone hashes
    PSEUDONYM = "pseudonym"  # the host platform's ids and references to a person
    DERIVED = "derived"  # what TrustDesk worked out from content: signals' evidence, rules' inputs
    CORRESPONDENCE = "correspondence"  # messages to and from a person: notices, replies, appeals
    STAFF = "staff"  # staff members' own data
    AUDIT = "audit"  # audit payloads, personal fields encrypted per person (crypto-shredded)
    EVIDENCE = "evidence"  # snapshots kept under a legal hold


PERSONAL: dict[str, dict[str, DataKind]] = {
    "subjects": {"external_id": DataKind.PSEUDONYM, "title": DataKind.CONTENT, "text": DataKind.CONTENT, "url": DataKind.CONTENT,
                 "personal": DataKind.CONTACT, "attributes": DataKind.CONTENT, "media_url": DataKind.CONTENT},
    "media_items": {"source_url": DataKind.CONTENT},
    "reports": {"text": DataKind.CONTENT, "dsa_explanation": DataKind.CONTENT, "dsa_location_url": DataKind.CONTENT,
                "notifier_name": DataKind.CONTACT, "notifier_email": DataKind.CONTACT, "external_id": DataKind.PSEUDONYM},
    "account_events": {"external_id": DataKind.PSEUDONYM, "ip": DataKind.NETWORK, "device_id": DataKind.NETWORK,
                       "payment_fingerprint": DataKind.NETWORK, "phone_hash": DataKind.NETWORK, "attributes": DataKind.NETWORK},
    "identifier_digests": {"digest": DataKind.NETWORK},
    "signals": {"match": DataKind.DERIVED, "evidence": DataKind.DERIVED},
    "rule_evaluations": {"inputs": DataKind.DERIVED, "errors": DataKind.DERIVED},
    "audit_events": {"before": DataKind.AUDIT, "after": DataKind.AUDIT, "person_ref": DataKind.PSEUDONYM},
    "person_keys": {"person_ref": DataKind.PSEUDONYM},
    "notifier_records": {"key": DataKind.PSEUDONYM},
    "notices": {"recipient_address": DataKind.CONTACT, "subject_line": DataKind.CORRESPONDENCE, "body": DataKind.CORRESPONDENCE},
    "case_replies": {"subject": DataKind.CORRESPONDENCE, "body": DataKind.CORRESPONDENCE},
    "case_comments": {"body": DataKind.CORRESPONDENCE},
    "appeals": {"external_id": DataKind.PSEUDONYM, "statement": DataKind.CORRESPONDENCE},
    "escalations": {"external_id": DataKind.PSEUDONYM, "requester_ref": DataKind.PSEUDONYM, "reason": DataKind.CORRESPONDENCE,
                    "de_escalation_note": DataKind.CORRESPONDENCE},
    "decisions": {"rationale": DataKind.CORRESPONDENCE},
    "statements_of_reasons": {"body": DataKind.CORRESPONDENCE},
    "outbox": {"payload": DataKind.CORRESPONDENCE},
    "bulk_items": {"reference": DataKind.PSEUDONYM},
    "login_throttles": {"username": DataKind.STAFF, "address": DataKind.NETWORK},
    "rate_limits": {"key": DataKind.NETWORK},
    "staff_users": {"username": DataKind.STAFF, "display_name": DataKind.STAFF, "skills": DataKind.STAFF},
    "evidence_items": {"body": DataKind.EVIDENCE},
    "custody_events": {"reason": DataKind.EVIDENCE, "detail": DataKind.EVIDENCE},
    "legal_holds": {"reason": DataKind.EVIDENCE, "reference": DataKind.EVIDENCE},
    # A CyberTipline report names the reported person: screen name, profile, IPs, device ids.
    "ncmec_reports": {"xml": DataKind.EVIDENCE, "files": DataKind.EVIDENCE},
    # What a synchronous check answered: the rules that held and the signals, worked out from content.
    "verdicts": {"reasons": DataKind.DERIVED, "signals": DataKind.DERIVED},
    "evaluation_batches": {"items": DataKind.CONTENT, "results": DataKind.DERIVED},
    # The officer who sent a law-enforcement request is a person too; known copies name subjects.
    "law_enforcement_requests": {"officer_name": DataKind.CONTACT, "officer_email": DataKind.CONTACT,
                                 "officer_phone": DataKind.CONTACT, "review_reasons": DataKind.EVIDENCE,
                                 "external_id": DataKind.PSEUDONYM, "known_copies": DataKind.PSEUDONYM},
    # Who asked, how to reach them, and what they were told: kept as the record of the answer.
    "privacy_requests": {"external_id": DataKind.PSEUDONYM, "requester_name": DataKind.CONTACT, "requester_contact": DataKind.CONTACT,
                         "details": DataKind.CORRESPONDENCE, "verification_note": DataKind.CORRESPONDENCE,
                         "extension_reason": DataKind.CORRESPONDENCE, "answer": DataKind.CORRESPONDENCE,
                         "outcome": DataKind.CORRESPONDENCE, "receipt_confirmation": DataKind.CORRESPONDENCE,
                         "statement": DataKind.CORRESPONDENCE, "lift_reason": DataKind.CORRESPONDENCE},
}

# Blobs are files, not columns: what each kind of blob reference holds.
BLOBS: dict[str, DataKind] = {
    "media_items.blob_sha256": DataKind.CONTENT,
    "evidence_items.blob_sha256": DataKind.EVIDENCE,
}

# Text, JSON and byte columns that hold no personal data: codes, states, hashes, configuration,
# secrets (which are no one's personal data), and the labels of the staff, clients and rules
# that acted (`*_by`, `actor`): the record of who did what, kept whoever asks.
NOT_PERSONAL: dict[str, frozenset[str]] = {name: frozenset(columns) for name, columns in {
    "apps": {"slug", "name", "notice_channel"},
    "audit_blocks": {"tx_id", "prev_hash", "block_hash"},
    "audit_chain_head": {"block_hash"},
    "audit_events": {"tx_id", "actor_type", "actor_id", "verb", "object_type", "object_id", "event_hash"},
    "blobs": {"sha256", "md5", "content_type"},
    "canned_rationales": {"policy_code", "text", "created_by"},
    "hash_banks": {"name", "description", "kind", "policy_code", "action", "created_by"},
    "identifier_digests": {"kind", "object_type"},
    "jobs": {"kind", "singleton_key", "payload", "status", "locked_by", "last_error"},
    "legal_holds": {"basis", "custody_head", "placed_by", "released_by"},
    "person_keys": {"wrapped_key"},
    "queues": {"name", "routing_expression", "sla_minutes", "required_roles", "required_languages", "tier"},
    "reply_templates": {"name", "channel", "tone", "created_by"},
    "report_counters": {"policy_code"},
    "rules": {"name"},
    "ncmec_reports": {"state", "incident_type", "errors", "created_by"},
    "verdicts": {"verdict", "body_hash"},
    "evaluation_batches": {"status"},
    "law_enforcement_requests": {"body_hash", "agency", "instrument", "reference", "status", "review_outcome", "reviewed_by",
                                 "disclosed_subject_ids", "disclosure_sha256", "created_by"},
    "staff_users": {"password_hash", "roles", "totp_secret"},
    "subject_counters": {"kind"},
    "api_clients": {"name", "token_prefix", "token_hash", "scopes"},
    "bank_hashes": {"algorithm", "value", "note", "added_by"},
    "bulk_operations": {"kind", "request", "status"},
    "custody_events": {"actor", "verb", "prev_hash", "event_hash"},
    "evidence_items": {"kind", "sha256", "content_type", "blob_sha256"},
    "policies": {"code", "title", "allowed_actions", "dsa_category", "dsa_keywords", "ncmec_incident_type", "description", "guidance",
                 "decision_tree"},
    "queue_counters": {"band"},
    "reply_template_texts": {"locale", "subject", "body"},
    "rule_versions": {"mode", "description", "expression", "effects", "source", "created_by"},
    "staff_sessions": {"token_hash", "csrf_token"},
    "subjects": {"kind", "language", "country", "region", "locale", "visibility", "reach", "body_hash"},
    "text_banks": {"name", "kind", "language", "description"},
    "webhook_endpoints": {"url", "secret_encrypted", "created_by"},
    "account_events": {"kind", "currency", "body_hash"},
    "bulk_items": {"status", "detail"},
    "cases": {"kind", "status", "band", "priority_reasons", "policy_code", "tier", "labels", "routed_by"},
    "media_items": {"blob_sha256", "content_type", "kind", "source", "status", "refused_reason"},
    "signals": {"analyser", "label", "model_version", "content_hash"},
    "text_bank_entries": {"value", "note"},
    "case_comments": {"visibility"},
    "decisions": {"policy_code", "verdict", "actions", "tree_path", "kind", "automated_decision"},
    "escalations": {"tier", "urgency", "status", "body_hash", "outcome", "escalated_by", "de_escalated_by"},
    "media_hashes": {"algorithm", "value"},
    "reports": {"policy_code", "reporter_type", "status", "body_hash"},
    "appeals": {"appellant", "outcome", "body_hash", "filed_by"},
    "enforcement_actions": {"kind", "params", "visibility_before", "visibility_after", "status", "created_by", "undone_by"},
    "notices": {"kind", "recipient_role", "locale", "channel", "state", "error", "created_by"},
    "rule_evaluations": {"trigger"},
    "strikes": {"policy_code"},
    "case_replies": {"channel", "locale", "delivery"},
    "outbox": {"webhook_id", "event_type", "state", "last_error"},
    "rule_hits": {"mode"},
    "statements_of_reasons": {"puid", "submission", "dsa_uuid", "submission_errors"},
    "privacy_requests": {"body_hash", "regime", "request_type", "verification", "status", "verified_by", "answered_by", "created_by",
                         "receipt_confirmed_by", "lifted_by"},
    "active_recipients": {"by_member_state", "reported_by"},  # aggregate counts per member state
}.items()}

_MAY_HOLD_DATA = (String, Text, JSON, LargeBinary)


def undeclared(metadata: MetaData) -> list[str]:
    """`table.column` of every text, JSON or byte column declared neither personal nor not."""
    found = []
    for table in metadata.sorted_tables:
        personal, other = PERSONAL.get(table.name, {}), NOT_PERSONAL.get(table.name, frozenset())
        for column in table.columns:
            if isinstance(column.type, _MAY_HOLD_DATA) and column.name not in personal and column.name not in other:
                found.append(f"{table.name}.{column.name}")
    return sorted(found)


def declared_both_ways() -> list[str]:
    return sorted(f"{t}.{c}" for t, columns in PERSONAL.items() for c in columns if c in NOT_PERSONAL.get(t, frozenset()))


def stale(metadata: MetaData) -> list[str]:
    """Declarations of columns the models no longer have."""
    present = {(t.name, c.name) for t in metadata.sorted_tables for c in t.columns}
    declared = [(t, c) for t, cs in PERSONAL.items() for c in cs] + [(t, c) for t, cs in NOT_PERSONAL.items() for c in cs]
    return sorted(f"{t}.{c}" for t, c in declared if (t, c) not in present)
