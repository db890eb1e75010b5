"""The client against the sandbox over real HTTP: a whole filing, then each error path the
protocol documents, each driven through the client and answered with its code."""

from __future__ import annotations

import hashlib
import socket

import httpx
import pytest
from lxml import etree

from tests.ncmec.sandbox import Tipline
from tests.ncmec.test_tipline_xml import FULL, PHOTO, REPORTER
from trustdesk.ncmec.client import CyberTiplineClient, NcmecError
from trustdesk.ncmec.tipline import file_details_xml, report_xml
from trustdesk.sandbox.ncmec import FIRST_REPORT_ID

REPORT = report_xml(FULL, REPORTER)
PICTURE = b"\x89PNG not really a picture"


def _refused(step: str, code: int) -> pytest.RaisesExc[NcmecError]:
    return pytest.raises(NcmecError, check=lambda e: (e.step, e.code) == (step, code))


def test_a_whole_filing_status_submit_upload_fileinfo_finish(tipline: Tipline) -> None:
    with tipline.client() as client:
        assert client.status().code == 0
        report_id = client.submit(REPORT)
        assert report_id == FIRST_REPORT_ID
        uploaded = client.upload(report_id, "post-9-0.jpg", PICTURE)
        assert uploaded.hash == hashlib.md5(PICTURE).hexdigest()
        assert client.file_info(file_details_xml(report_id, uploaded.file_id, PHOTO)).code == 0
        done = client.finish(report_id)
    assert (done.code, done.report_id, done.file_ids) == (0, report_id, (uploaded.file_id,))
    held = tipline.held(report_id)
    assert (held["state"], held["xml"]) == ("finished", REPORT.decode())
    [file] = held["files"]
    assert (file["name"], file["md5"], file["size"]) == ("post-9-0.jpg", uploaded.hash, len(PICTURE))
    assert etree.fromstring(file["details"].encode()).findtext("fileViewedByEsp") == "true"
    assert tipline.sleeps == []


def test_no_credentials_is_2000_and_wrong_ones_3000(tipline: Tipline) -> None:
    anonymous = httpx.get(f"{tipline.url}/status")
    assert anonymous.status_code == 401
    assert etree.fromstring(anonymous.content).findtext("responseCode") == "2000"
    with tipline.client(password="wrong") as client, _refused("status", 3000):
        client.status()


def test_a_report_that_does_not_validate_is_4100_with_the_validators_message(tipline: Tipline) -> None:
    invalid = REPORT.replace(b"<incidentType>Child Pornography (possession, manufacture, and distribution)</incidentType>",
                             b"<incidentType>Spam</incidentType>")
    with tipline.client() as client, _refused("submit", 4100) as refused:
        client.submit(invalid)
    assert "incidentType" in refused.value.description and "'Spam'" in refused.value.description
    with tipline.client() as client, _refused("fileinfo", 4100):
        client.file_info(REPORT)  # a report where file details belong
    assert tipline.state.reports == {}


def test_malformed_xml_is_4110(tipline: Tipline) -> None:
    with tipline.client() as client, _refused("submit", 4110):
        client.submit(b"<report><incidentSummary>")


def test_a_report_or_file_that_does_not_exist_is_5001_or_5002(tipline: Tipline) -> None:
    with tipline.client() as client:
        with _refused("upload", 5001):
            client.upload(FIRST_REPORT_ID, "x.jpg", PICTURE)
        report_id = client.submit(REPORT)
        with _refused("fileinfo", 5002):
            client.file_info(file_details_xml(report_id, "no-such-file", PHOTO))
        with _refused("finish", 5001):
            client.finish(report_id + 1)


def test_a_retracted_report_is_5101_and_a_finished_one_5102(tipline: Tipline) -> None:
    with tipline.client() as client:
        retracted, finished = client.submit(REPORT), client.submit(REPORT)
        assert client.retract(retracted).code == 0
        with _refused("retract", 5101):
            client.retract(retracted)
        with _refused("upload", 5101):
            client.upload(retracted, "x.jpg", PICTURE)
        client.finish(finished)
        with _refused("upload", 5102):
            client.upload(finished, "x.jpg", PICTURE)
        with _refused("finish", 5102):
            client.finish(finished)
        with _refused("retract", 5102):
            client.retract(finished)
    assert (tipline.held(retracted)["state"], tipline.held(finished)["state"]) == ("retracted", "finished")


def test_an_empty_file_is_4200(tipline: Tipline) -> None:
    with tipline.client() as client:
        report_id = client.submit(REPORT)
        with _refused("upload", 4200):
            client.upload(report_id, "empty.jpg", b"")


@pytest.mark.parametrize("code", [1000, 1100, 1110, 1111])
def test_transient_failures_are_tried_again_with_growing_pauses(tipline: Tipline, code: int) -> None:
    tipline.fail(code, 2)
    with tipline.client() as client:
        assert client.submit(REPORT) == FIRST_REPORT_ID
    assert tipline.sleeps == [0.5, 1.0]
    assert list(tipline.state.reports) == [FIRST_REPORT_ID]  # the failed attempts opened nothing


def test_a_failure_that_outlasts_the_attempts_is_raised_with_its_code(tipline: Tipline) -> None:
    tipline.fail(1000, 3)
    with tipline.client(attempts=3) as client, _refused("status", 1000):
        client.status()
    assert tipline.sleeps == [0.5, 1.0]


def test_an_unreachable_service_is_tried_again_then_reported_without_a_code() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    sleeps: list[float] = []
    client = CyberTiplineClient(f"http://127.0.0.1:{port}/ispws", "u", "p", attempts=3, sleep=sleeps.append)
    with client, pytest.raises(NcmecError, check=lambda e: e.code is None and "could not be reached" in e.description):
        client.submit(REPORT)
    assert sleeps == [0.5, 1.0]
