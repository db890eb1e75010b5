"""The `<report>` and `<fileDetails>` documents validate against NCMEC's schema, carry each
fact where the schema puts it, and a document that breaks the schema is caught with its reason."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

from lxml import etree

from trustdesk.config import NcmecSettings
from trustdesk.ncmec import schema
from trustdesk.ncmec.tipline import DeviceSeen, IpCapture, ReportedUser, Tipline, TiplineFile, file_details_xml, report_xml

AT = datetime(2026, 11, 30, 21, 15, 7, tzinfo=timezone.utc)
REPORTER = NcmecSettings(reporter_first_name="Dana", reporter_last_name="Ortiz", reporter_email="dana@example.org",
                         reporter_phone="+1 555 0100", terms_of_service_url="https://example.org/terms")
PHOTO = TiplineFile(7, "a" * 64, "b" * 32, "post-9-0.jpg", viewed_by_staff=True, received_at=AT)
FULL = Tipline(
    incident_type="Child Pornography (possession, manufacture, and distribution)", incident_at=AT, platform="Dating",
    reported=ReportedUser(
        esp_identifier="acc-9", esp_service="Dating", screen_name="sunny", display_names=("Sunny D",),
        profile_urls=("https://dating.example/u/acc-9",),
        ip_captures=(IpCapture("203.0.113.9", "login", AT), IpCapture("2001:db8::1", "password_reset", AT)),
        devices=(DeviceSeen("dev-42", "registration", AT),), suspended_at=None, banned_at=AT,
    ),
    files=(PHOTO,), additional_info="TrustDesk case 3", escalate=True, urls=("https://dating.example/p/post-9",),
)


def test_the_packaged_schema_is_the_published_one() -> None:
    packaged = Path(schema.__file__).with_name(schema.XSD_NAME).read_bytes()
    assert packaged == (Path(__file__).parents[2] / "docs/specs/ncmec/cyber_tipline.xsd").read_bytes()


def test_a_full_report_validates_and_says_each_fact_where_the_schema_wants_it() -> None:
    document = report_xml(FULL, REPORTER)
    assert schema.problems(document) == []
    root = etree.fromstring(document)
    assert root.findtext("incidentSummary/incidentType") == FULL.incident_type
    assert root.findtext("incidentSummary/incidentDateTime") == "2026-11-30T21:15:07Z"
    assert root.find("incidentSummary/escalateToHighPriority") is not None
    assert root.findtext("internetDetails/webPageIncident/url") == "https://dating.example/p/post-9"
    assert root.findtext("reporter/reportingPerson/email") == "dana@example.org"
    assert root.findtext("reporter/termsOfService") == "https://example.org/terms"
    user = root.find("personOrUserReported")
    assert [user.findtext(t) for t in ("espIdentifier", "espService", "screenName", "displayName", "profileUrl")] == [
        "acc-9", "Dating", "sunny", "Sunny D", "https://dating.example/u/acc-9"]
    assert [(e.findtext("ipAddress"), e.findtext("eventName")) for e in user.findall("ipCaptureEvent")] == [
        ("203.0.113.9", "Login"), ("2001:db8::1", "Other")]
    assert [(d.findtext("idValue"), d.findtext("eventName")) for d in user.findall("deviceId")] == [("dev-42", "Registration")]
    assert user.find("accountTemporarilyDisabled") is None
    banned = user.find("accountPermanentlyDisabled")
    assert (banned.text, banned.get("disabledDate")) == ("true", "2026-11-30T21:15:07Z")
    assert root.findtext("additionalInfo") == "TrustDesk case 3"


def test_a_report_with_no_account_and_no_optional_facts_validates() -> None:
    bare = Tipline(incident_type="Online Enticement of Children for Sexual Acts", incident_at=AT, platform="Dating", reported=None)
    document = report_xml(bare, NcmecSettings())
    assert schema.problems(document) == []
    assert etree.fromstring(document).find("personOrUserReported") is None


def test_file_details_carry_both_original_hashes_and_whether_staff_viewed_the_file() -> None:
    document = file_details_xml(70000001, "f1", PHOTO)
    assert schema.problems(document) == []
    root = etree.fromstring(document)
    assert [(h.get("hashType"), h.text) for h in root.findall("originalFileHash")] == [("MD5", "b" * 32), ("SHA-256", "a" * 64)]
    assert (root.findtext("reportId"), root.findtext("fileId"), root.findtext("fileViewedByEsp")) == ("70000001", "f1", "true")
    # TrustDesk's name for the file, not the uploader's original one, which it never saw
    assert (root.findtext("fileName"), root.find("originalFileName")) == ("post-9-0.jpg", None)


def test_text_xml_cannot_carry_is_replaced_and_the_report_still_validates() -> None:
    user = dataclasses.replace(FULL.reported, screen_name="sun\u0007ny", display_names=("Sunny\x00 D\ud800",))
    document = report_xml(dataclasses.replace(FULL, reported=user, additional_info="case\x1b 3\tnotes"), REPORTER)
    assert schema.problems(document) == []
    root = etree.fromstring(document)
    assert [root.findtext(f"personOrUserReported/{t}") for t in ("screenName", "displayName")] == ["sun\ufffdny", "Sunny\ufffd D\ufffd"]
    assert root.findtext("additionalInfo") == "case\ufffd 3\tnotes"


def test_a_suspension_that_ended_says_when_the_account_was_reenabled() -> None:
    ended = dataclasses.replace(FULL.reported, suspended_at=AT, reenabled_at=AT + timedelta(days=7), banned_at=None)
    document = report_xml(dataclasses.replace(FULL, reported=ended), REPORTER)
    assert schema.problems(document) == []
    disabled = etree.fromstring(document).find("personOrUserReported/accountTemporarilyDisabled")
    assert (disabled.text, disabled.get("disabledDate"), disabled.get("reenabledDate")) == (
        "true", "2026-11-30T21:15:07Z", "2026-12-07T21:15:07Z")


def test_a_document_that_breaks_the_schema_is_caught_with_the_reason() -> None:
    wrong_type = report_xml(Tipline(incident_type="Spam", incident_at=AT, platform="Dating", reported=None), NcmecSettings())
    [problem] = schema.problems(wrong_type)
    assert "incidentType" in problem and "Spam" in problem
    assert schema.problems(b"<report><incidentSummary>")[0].startswith("malformed XML:")
