"""The CyberTipline documents: a `<report>` and a file's `<fileDetails>`, from plain values.

Elements come in the order `cyber_tipline.xsd` fixes for them, and only those TrustDesk has
facts for are written; what reads the database to gather the facts is `trustdesk.ncmec.builder`.
"""

from __future__ import annotations

import re

from dataclasses import dataclass
from datetime import datetime, timezone

from lxml import etree

from trustdesk.config import NcmecSettings

# Account event kinds as NCMEC's `ipCaptureType` names them; any other kind is "Other".
CAPTURE_EVENTS = {"registration": "Registration", "login": "Login", "purchase": "Purchase"}


@dataclass(frozen=True)
class IpCapture:
    ip: str
    event: str  # an account event kind
    at: datetime


@dataclass(frozen=True)
class DeviceSeen:
    device_id: str
    event: str
    at: datetime


@dataclass(frozen=True)
class ReportedUser:
    """The account the reported content belongs to, as the platform knows it."""

    esp_identifier: str
    esp_service: str
    screen_name: str | None = None
    display_names: tuple[str, ...] = ()
    profile_urls: tuple[str, ...] = ()
    ip_captures: tuple[IpCapture, ...] = ()
    devices: tuple[DeviceSeen, ...] = ()
    # When the account was suspended (temporarily) or banned (permanently); None if it is not.
    suspended_at: datetime | None = None  # the latest suspension, standing or not
    reenabled_at: datetime | None = None  # when it ended, if it has
    banned_at: datetime | None = None
    notes: str = ""


@dataclass(frozen=True)
class TiplineFile:
    """A stored media file of the reported content: its original hashes, and whether staff opened it."""

    media_item_id: int
    sha256: str
    md5: str
    file_name: str
    viewed_by_staff: bool
    received_at: datetime | None = None


@dataclass(frozen=True)
class Tipline:
    incident_type: str
    incident_at: datetime
    platform: str
    reported: ReportedUser | None
    files: tuple[TiplineFile, ...] = ()
    additional_info: str = ""
    escalate: bool = False  # imminent harm: NCMEC is asked to look at it first
    urls: tuple[str, ...] = ()  # where the reported content is on the platform


def xml_time(value: datetime) -> str:
    """An `xs:dateTime` in UTC to the second: `2026-01-02T03:04:05Z`."""
    utc = (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


# What XML 1.0 cannot carry: control characters other than tab, line feed and carriage return,
# lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` with each character XML cannot carry replaced by U+FFFD: a screen name a user put a
    bell character in must not stop the report from being built (TrustDesk keeps the original)."""
    return _NOT_XML.sub("\ufffd", text)


def _add(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    child = etree.SubElement(parent, tag, attributes)
    if text is not None:
        child.text = xml_text(text)
    return child


def report_xml(tipline: Tipline, reporter: NcmecSettings) -> bytes:
    """The `<report>` document, UTF-8 with an XML declaration."""
    root = etree.Element("report")
    summary = _add(root, "incidentSummary")
    _add(summary, "incidentType", tipline.incident_type)
    _add(summary, "platform", tipline.platform)
    if tipline.escalate:
        _add(summary, "escalateToHighPriority", "The reported person may be in contact with a child now.")
    _add(summary, "incidentDateTime", xml_time(tipline.incident_at))
    if tipline.urls:  # NCMEC asks for at least one incident detail where there is one to give
        page = _add(_add(root, "internetDetails"), "webPageIncident")
        for url in tipline.urls:
            _add(page, "url", url)
    _reporter(_add(root, "reporter"), reporter)
    if tipline.reported is not None:
        _reported(_add(root, "personOrUserReported"), tipline.reported)
    if tipline.additional_info:
        _add(root, "additionalInfo", tipline.additional_info)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _reporter(element: etree._Element, reporter: NcmecSettings) -> None:
    person = _add(element, "reportingPerson")
    _add(person, "firstName", reporter.reporter_first_name)
    _add(person, "lastName", reporter.reporter_last_name)
    if reporter.reporter_phone:
        _add(person, "phone", reporter.reporter_phone, type="Business")
    _add(person, "email", reporter.reporter_email, type="Business")
    if reporter.terms_of_service_url:
        _add(element, "termsOfService", reporter.terms_of_service_url)


def _reported(element: etree._Element, user: ReportedUser) -> None:
    _add(element, "espIdentifier", user.esp_identifier)
    _add(element, "espService", user.esp_service)
    if user.screen_name:
        _add(element, "screenName", user.screen_name)
    for name in user.display_names:
        _add(element, "displayName", name)
    for url in user.profile_urls:
        _add(element, "profileUrl", url)
    for capture in user.ip_captures:
        event = _add(element, "ipCaptureEvent")
        _add(event, "ipAddress", capture.ip)
        _add(event, "eventName", CAPTURE_EVENTS.get(capture.event, "Other"))
        _add(event, "dateTime", xml_time(capture.at))
    for device in user.devices:
        seen = _add(element, "deviceId")
        _add(seen, "idType", "Device ID")
        _add(seen, "idValue", device.device_id)
        _add(seen, "eventName", CAPTURE_EVENTS.get(device.event, "Other"))
        _add(seen, "dateTime", xml_time(device.at))
    if user.suspended_at is not None:
        reenabled = {"reenabledDate": xml_time(user.reenabled_at)} if user.reenabled_at else {}
        _add(element, "accountTemporarilyDisabled", "true", disabledDate=xml_time(user.suspended_at), **reenabled)
    if user.banned_at is not None:
        _add(element, "accountPermanentlyDisabled", "true", disabledDate=xml_time(user.banned_at))
    if user.notes:
        _add(element, "additionalInfo", user.notes)


def file_details_xml(report_id: int, file_id: str, file: TiplineFile) -> bytes:
    """The `<fileDetails>` of one uploaded file: its name, whether staff viewed it, its original hashes."""
    root = etree.Element("fileDetails")
    _add(root, "reportId", str(report_id))
    _add(root, "fileId", file_id)
    _add(root, "fileName", file.file_name)  # TrustDesk's name for it: the uploader's own is not kept
    if file.received_at is not None:
        _add(root, "uploadedToEspTimestamp", xml_time(file.received_at))
    _add(root, "fileViewedByEsp", "true" if file.viewed_by_staff else "false")
    _add(root, "fileRelevance", "Reported")
    _add(root, "originalFileHash", file.md5, hashType="MD5")
    _add(root, "originalFileHash", file.sha256, hashType="SHA-256")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
