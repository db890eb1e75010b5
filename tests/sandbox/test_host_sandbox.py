"""The host-platform sandbox over real HTTP: uvicorn in a thread, deliveries signed with the
`standardwebhooks` package itself, each answer and each failure path checked from the sender's side."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook
from typer.testing import CliRunner

from trustdesk.cli import app as cli
from trustdesk.sandbox.host import MAX_BODY_BYTES, HostState, create_host_app, parse_endpoint_option

SECRET = "whsec_" + base64.b64encode(b"demo-app secret, 32 bytes long!!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another secret").decode()


@dataclass
class Sandbox:
    url: str
    client: httpx.Client

    def deliver(
        self, endpoint: str, webhook_id: str, envelope: Any = None, *, secret: str = SECRET,
        when: datetime | None = None, body: bytes | None = None, timeout: float = 5.0,
    ) -> httpx.Response:
        """Sign `envelope` (or raw `body`) as a sender would and POST it to the endpoint."""
        signed = body if body is not None else json.dumps(envelope or envelope_for("action.applied")).encode()
        when = when or datetime.now(timezone.utc)
        headers = {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(webhook_id, when, signed),
            "content-type": "application/json",
        }
        return self.client.post(f"{self.url}/hooks/{endpoint}", content=signed, headers=headers, timeout=timeout)

    def control(self, path: str, **spec: Any) -> httpx.Response:
        return self.client.post(f"{self.url}/control/{path}", json=spec)

    def events(self, endpoint: str) -> dict[str, Any]:
        answer = self.client.get(f"{self.url}/control/events", params={"endpoint": endpoint})
        assert answer.status_code == 200, answer.text
        return answer.json()


def envelope_for(event_type: str, **data: Any) -> dict[str, Any]:
    return {"type": event_type, "timestamp": datetime.now(timezone.utc).isoformat(), "data": {"action_id": "a1", **data}}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    state = HostState()
    state.add_endpoint("dating", SECRET)
    state.add_endpoint("market", SECRET)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_host_app(state), log_config=None, access_log=False, timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        with httpx.Client() as client:
            yield Sandbox(f"http://127.0.0.1:{listener.getsockname()[1]}", client)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def test_a_correctly_signed_delivery_is_accepted(sandbox: Sandbox) -> None:
    envelope = envelope_for("action.applied", kind="remove", subject={"kind": "photo", "external_id": "p-9"}, sequence=1)
    answer = sandbox.deliver("dating", "msg_1", envelope)
    assert answer.status_code == 200
    assert answer.json() == {"outcome": "accepted"}
    seen = sandbox.events("dating")
    assert (seen["accepted"], seen["refused"], seen["duplicates"]) == (1, 0, 0)
    [event] = seen["events"]
    assert (event["webhook_id"], event["type"], event["data"], event["stale"]) == ("msg_1", "action.applied", envelope["data"], False)
    assert sandbox.events("market")["accepted"] == 0, "endpoints keep their own events"


@pytest.mark.parametrize(
    "deliver",
    [
        pytest.param(lambda s: s.deliver("dating", "msg_x", secret=OTHER_SECRET), id="wrong secret"),
        pytest.param(lambda s: s.deliver("dating", "msg_x", when=datetime.now(timezone.utc) - timedelta(minutes=6)), id="old timestamp"),
        pytest.param(lambda s: s.deliver("dating", "msg_x", when=datetime.now(timezone.utc) + timedelta(minutes=6)), id="future timestamp"),
    ],
)
def test_a_bad_signature_or_timestamp_is_refused(sandbox: Sandbox, deliver: Any) -> None:
    answer = deliver(sandbox)
    assert answer.status_code == 401
    seen = sandbox.events("dating")
    assert (seen["accepted"], seen["refused"]) == (0, 1)
    assert seen["refusals"][0]["webhook_id"] == "msg_x"


def test_a_tampered_body_is_refused(sandbox: Sandbox) -> None:
    when = datetime.now(timezone.utc)
    signed = json.dumps(envelope_for("action.applied", kind="warn")).encode()
    headers = {
        "webhook-id": "msg_t", "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(SECRET).sign("msg_t", when, signed),
    }
    tampered = signed.replace(b'"warn"', b'"ban"')
    assert sandbox.client.post(f"{sandbox.url}/hooks/dating", content=tampered, headers=headers).status_code == 401
    assert sandbox.client.post(f"{sandbox.url}/hooks/dating", content=signed, headers=headers | {"webhook-id": "msg_u"}).status_code == 401
    assert sandbox.client.post(f"{sandbox.url}/hooks/dating", content=signed, headers=headers).status_code == 200
    assert sandbox.events("dating")["refused"] == 2


def test_missing_headers_are_refused(sandbox: Sandbox) -> None:
    answer = sandbox.client.post(f"{sandbox.url}/hooks/dating", json=envelope_for("action.applied"))
    assert answer.status_code == 401
    assert sandbox.events("dating")["refused"] == 1


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        json.dumps({"timestamp": "2025-01-01T00:00:00Z", "data": {}}).encode(),
        json.dumps({"type": "action.applied", "timestamp": "yesterday", "data": {}}).encode(),
        json.dumps({"type": "action.applied", "timestamp": "2025-01-01T00:00:00Z", "data": []}).encode(),
        json.dumps({"type": "action.applied", "timestamp": "2025-01-01T00:00:00Z", "data": {"sequence": "7"}}).encode(),
        json.dumps({"type": "action.applied", "timestamp": "2025-01-01T00:00:00Z", "data": {"subject": "p-9"}}).encode(),
        b"[" * 100_000,
    ],
    ids=["text", "not utf-8", "array", "no type", "bad timestamp", "data not object", "sequence text", "subject text", "deep"],
)
def test_a_signed_body_that_is_no_envelope_is_a_400(sandbox: Sandbox, body: bytes) -> None:
    assert sandbox.deliver("dating", "msg_b", body=body).status_code == 400
    seen = sandbox.events("dating")
    assert (seen["accepted"], seen["refused"], seen["refusals"][0]["status"]) == (0, 1, 400)


def test_an_oversized_body_is_a_413(sandbox: Sandbox) -> None:
    assert sandbox.deliver("dating", "msg_big", body=b" " * (MAX_BODY_BYTES + 1)).status_code == 413


def test_a_repeat_is_answered_again_but_counted_once(sandbox: Sandbox) -> None:
    envelope = envelope_for("action.applied", kind="ban")
    assert sandbox.deliver("dating", "msg_r", envelope).json() == {"outcome": "accepted"}
    again = sandbox.deliver("dating", "msg_r", envelope)
    assert again.status_code == 200
    assert again.json() == {"outcome": "duplicate"}
    seen = sandbox.events("dating")
    assert (seen["accepted"], seen["duplicates"], len(seen["events"])) == (1, 1, 1)


def test_concurrent_repeats_are_taken_in_once(sandbox: Sandbox) -> None:
    ids = ["msg_same"] * 20 + [f"msg_{n}" for n in range(20)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda webhook_id: sandbox.deliver("market", webhook_id).status_code, ids))
    assert answers == [200] * 40
    seen = sandbox.events("market")
    assert (seen["accepted"], seen["duplicates"]) == (21, 19)
    assert len({event["webhook_id"] for event in seen["events"]}) == 21


def test_an_older_event_for_a_subject_is_flagged_stale(sandbox: Sandbox) -> None:
    subject = {"kind": "account", "external_id": "u-1"}
    assert sandbox.deliver("dating", "msg_s2", envelope_for("action.reversed", subject=subject, sequence=2)).json()["outcome"] == "accepted"
    late = sandbox.deliver("dating", "msg_s1", envelope_for("action.applied", subject=subject, sequence=1))
    assert (late.status_code, late.json()["outcome"]) == (200, "stale")
    other = envelope_for("action.applied", subject={"kind": "account", "external_id": "u-2"}, sequence=1)
    assert sandbox.deliver("dating", "msg_o1", other).json()["outcome"] == "accepted", "sequences are per subject"
    seen = sandbox.events("dating")
    assert [(e["webhook_id"], e["stale"]) for e in seen["events"]] == [("msg_s2", False), ("msg_s1", True), ("msg_o1", False)]
    assert seen["stale"] == 1


def test_fail_for_a_count_then_succeed(sandbox: Sandbox) -> None:
    assert sandbox.control("fail", endpoint="dating", status=503, count=2).status_code == 200
    assert [sandbox.deliver("dating", "msg_f").status_code for _ in range(2)] == [503, 503]
    assert sandbox.deliver("dating", "msg_f").json() == {"outcome": "accepted"}, "a failed attempt is no repeat"
    seen = sandbox.events("dating")
    assert (seen["failed"], seen["accepted"], seen["duplicates"], seen["failing"]) == (2, 1, 0, None)
    assert sandbox.control("recover", endpoint="dating").json()["events"] == [], "control answers carry counts only"
    assert sandbox.events("market")["failed"] == 0


def test_fail_for_a_time_then_succeed(sandbox: Sandbox) -> None:
    assert sandbox.control("fail", endpoint="dating", status=500, seconds=2).json()["failing"]["status"] == 500
    assert sandbox.deliver("dating", "msg_t1").status_code == 500
    assert sandbox.deliver("dating", "msg_t1").status_code == 500
    time.sleep(2.1)
    assert sandbox.deliver("dating", "msg_t1").status_code == 200


def test_recover_ends_a_failure_at_once(sandbox: Sandbox) -> None:
    sandbox.control("fail", endpoint="dating", seconds=60)
    assert sandbox.deliver("dating", "msg_c").status_code == 503
    assert sandbox.control("recover", endpoint="dating").json()["failing"] is None
    assert sandbox.deliver("dating", "msg_c").status_code == 200


def test_hang_makes_the_sender_time_out(sandbox: Sandbox) -> None:
    assert sandbox.control("hang", endpoint="dating", seconds=1.5).json()["hanging_seconds_left"] > 1
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        sandbox.deliver("dating", "msg_h", timeout=0.5)
    assert time.monotonic() - started < 1.4
    assert sandbox.deliver("market", "msg_m").status_code == 200, "other endpoints still answer"
    # Once the hang is over the receiver finishes the work whose answer the sender never got, so
    # the sender's retry is a repeat: the webhook-id is what keeps the action from counting twice.
    deadline = time.monotonic() + 5
    while sandbox.events("dating")["accepted"] == 0:
        assert time.monotonic() < deadline, "the hung delivery was never taken in"
        time.sleep(0.05)
    retried = sandbox.deliver("dating", "msg_h")
    assert (retried.status_code, retried.json()["outcome"]) == (200, "duplicate")
    assert sandbox.events("dating")["accepted"] == 1


def test_endpoints_and_secrets_are_added_at_run_time(sandbox: Sandbox) -> None:
    assert sandbox.deliver("shop", "msg_1").status_code == 404
    added = sandbox.control("endpoints", name="shop", secret=OTHER_SECRET)
    assert (added.status_code, added.json()) == (201, {"endpoint": "shop", "created": True})
    assert sandbox.deliver("shop", "msg_1", secret=OTHER_SECRET).status_code == 200
    rotated = sandbox.control("endpoints", name="shop", secret=SECRET)
    assert (rotated.status_code, rotated.json()["created"]) == (200, False)
    assert sandbox.deliver("shop", "msg_2", secret=OTHER_SECRET).status_code == 401
    assert sandbox.deliver("shop", "msg_2").status_code == 200
    assert sandbox.events("shop")["accepted"] == 2, "a new secret keeps the events"


@pytest.mark.parametrize(
    ("path", "spec", "field"),
    [
        ("endpoints", {"name": "shop", "secret": "not-a-secret"}, "secret"),
        ("endpoints", {"name": "shop", "secret": "whsec_!!!"}, "secret"),
        ("endpoints", {"name": "a b", "secret": SECRET}, "name"),
        ("fail", {"endpoint": "dating"}, None),
        ("fail", {"endpoint": "dating", "status": 200, "count": 1}, "status"),
        ("hang", {"endpoint": "dating", "seconds": 0}, "seconds"),
    ],
)
def test_control_input_is_checked(sandbox: Sandbox, path: str, spec: dict[str, Any], field: str | None) -> None:
    answer = sandbox.control(path, **spec)
    assert answer.status_code == 422
    if field:
        assert answer.json()["detail"][0]["loc"][-1] == field


def test_control_of_an_unknown_endpoint_is_a_404(sandbox: Sandbox) -> None:
    for answer in (
        sandbox.control("fail", endpoint="nope", count=1), sandbox.control("hang", endpoint="nope", seconds=1),
        sandbox.control("recover", endpoint="nope"), sandbox.client.get(f"{sandbox.url}/control/events", params={"endpoint": "nope"}),
    ):
        assert (answer.status_code, answer.json()["field"]) == (404, "endpoint")


def test_the_page_lists_what_arrived(sandbox: Sandbox) -> None:
    sandbox.deliver("dating", "msg_p1", envelope_for("action.applied", kind="suspend"))
    sandbox.deliver("dating", "msg_p2", envelope_for("<script>alert(1)</script>"))
    sandbox.deliver("dating", "msg_p3", secret=OTHER_SECRET)
    page = sandbox.client.get(f"{sandbox.url}/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "dating" in html and "market" in html
    assert "msg_p1" in html and "action.applied" in html and "suspend" in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "msg_p3" in html and "No matching signature found" in html


def test_control_routes_and_page_answer_loopback_only() -> None:
    state = HostState()
    state.add_endpoint("dating", SECRET)
    remote = TestClient(create_host_app(state), client=("203.0.113.5", 40000))
    assert remote.get("/").status_code == 403
    assert remote.get("/control/events", params={"endpoint": "dating"}).status_code == 403
    assert remote.post("/control/endpoints", json={"name": "x", "secret": SECRET}).status_code == 403
    body = json.dumps(envelope_for("action.applied")).encode()
    when = datetime.now(timezone.utc)
    signature = Webhook(SECRET).sign("msg_1", when, body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(when.timestamp())), "webhook-signature": signature}
    assert remote.post("/hooks/dating", content=body, headers=headers).status_code == 200, "deliveries come from anywhere"


@pytest.mark.parametrize("option", ["dating", "=whsec_" + SECRET[6:], "dating=secret", "dating=whsec_", "a b=" + SECRET])
def test_bad_endpoint_options_are_refused(option: str) -> None:
    with pytest.raises(ValueError):
        parse_endpoint_option(option)
    result = CliRunner().invoke(cli, ["sandbox", "host", "--endpoint", option])
    assert result.exit_code == 2


def test_an_endpoint_option_is_name_and_secret() -> None:
    assert parse_endpoint_option(f"dating={SECRET}") == ("dating", SECRET)
