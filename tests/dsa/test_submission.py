"""Submitting stored statements of reasons to the DSA sandbox over real HTTP: batches of at most
100, each outcome recorded per statement, every error path of the protocol met by the client."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.dsa.conftest import TOKEN, Sandbox, decide_posts
from tests.enforcement.conftest import SETUP, World, account, item
from trustdesk.cases.access import Reviewer
from trustdesk.domain.action_types import action_type
from trustdesk.domain.policies import Action
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject
from trustdesk.policy_versions import publish_version
from trustdesk.config import ConfigError, Settings
from trustdesk.dsa.submission import (
    ACCEPTED,
    ALREADY_THERE,
    PENDING,
    REFUSED,
    SubmissionError,
    Target,
    submit_pending,
    submit_statements,
    SubmitStatements,
)
from trustdesk.jobs.registry import WorkerContext
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.models import AuditEvent, StatementOfReasons


def _rows(world: World) -> list[StatementOfReasons]:
    with world.db.reader() as s:
        return list(s.execute(select(StatementOfReasons).order_by(StatementOfReasons.id)).scalars())


def _submit(world: World, sandbox: Sandbox, *, token: str = TOKEN, waits: list[float] | None = None,
            sizes: list[int] | None = None) -> Any:
    def count(request: httpx.Request) -> None:
        if sizes is not None:
            sizes.append(len(httpx.Response(200, content=request.content).json()["statements"]))

    with httpx.Client(event_hooks={"request": [count]}) as client:
        return submit_pending(world.db, Target(sandbox.url, token), client=client, sleep=(waits if waits is not None else []).append)


def test_pending_statements_go_in_batches_of_100_and_each_keeps_the_database_uuid(world: World, sandbox: Sandbox) -> None:
    decide_posts(world, 130)
    sizes: list[int] = []
    tally = _submit(world, sandbox, sizes=sizes)

    assert (tally.accepted, tally.already_there, tally.refused, sizes) == (130, 0, 0, [100, 30])
    accepted = {s["puid"]: s["uuid"] for s in sandbox.accepted()}
    rows = _rows(world)
    assert [(r.submission, r.dsa_uuid) for r in rows] == [(ACCEPTED, accepted[r.puid]) for r in rows]
    assert all(r.submitted_at is not None and r.submission_errors is None for r in rows)
    with world.db.reader() as s:
        audited = s.execute(select(AuditEvent).where(AuditEvent.verb == "statement.submitted")).scalars().all()
    assert len(audited) == 130 and audited[0].after["submission"] == ACCEPTED

    sizes.clear()
    again = _submit(world, sandbox, sizes=sizes)
    assert (again.accepted, again.already_there, again.refused, sizes) == (0, 0, 0, [])


def test_a_statement_the_database_already_has_is_recorded_as_already_there(world: World, sandbox: Sandbox) -> None:
    decide_posts(world, 3)
    _submit(world, sandbox)
    first = _rows(world)[0]
    with world.db.session() as s:  # as if the database's answer had been lost on the way back
        s.execute(update(StatementOfReasons).where(StatementOfReasons.id == first.id).values(submission=PENDING, dsa_uuid=None))

    tally = _submit(world, sandbox)

    assert (tally.accepted, tally.already_there, tally.refused) == (0, 1, 0)
    assert [r.submission for r in _rows(world)] == [ALREADY_THERE, ACCEPTED, ACCEPTED]
    assert len(sandbox.accepted()) == 3


def test_a_refused_statement_keeps_the_errors_per_field_and_the_rest_of_its_batch_goes_in(world: World, sandbox: Sandbox) -> None:
    decide_posts(world, 3)
    broken = _rows(world)[1]
    body = dict(broken.body)
    del body["decision_facts"]
    body["category"] = "STATEMENT_CATEGORY_NOT_A_CATEGORY"
    with world.db.session() as s:
        s.execute(update(StatementOfReasons).where(StatementOfReasons.id == broken.id).values(body=body))

    tally = _submit(world, sandbox)

    assert (tally.accepted, tally.already_there, tally.refused) == (2, 0, 1)
    assert tally.errors == {broken.puid: {
        "decision_facts": ["The decision_facts field is required."], "category": ["The selected category is invalid."],
    }}
    rows = _rows(world)
    assert [r.submission for r in rows] == [ACCEPTED, REFUSED, ACCEPTED]
    assert rows[1].submission_errors == tally.errors[broken.puid] and rows[1].dsa_uuid is None
    assert sorted(s["puid"] for s in sandbox.accepted()) == sorted([rows[0].puid, rows[2].puid])


def test_a_statement_invalid_on_its_puid_is_refused_not_taken_as_already_there(world: World, sandbox: Sandbox) -> None:
    decide_posts(world, 2)
    broken = _rows(world)[0]
    with world.db.session() as s:
        s.execute(update(StatementOfReasons).where(StatementOfReasons.id == broken.id).values(body=broken.body | {"puid": "not a puid!"}))

    tally = _submit(world, sandbox)

    assert (tally.accepted, tally.already_there, tally.refused) == (1, 0, 1)
    assert list(tally.errors[broken.puid]) == ["puid"]
    assert [r.submission for r in _rows(world)] == [REFUSED, ACCEPTED]


def test_a_refusal_naming_no_statement_is_met_one_statement_at_a_time_and_holds_back_nothing(world: World) -> None:
    decide_posts(world, 3)
    broken = _rows(world)[1].puid
    sent: list[int] = []

    def database(request: httpx.Request) -> httpx.Response:
        statements = httpx.Response(200, content=request.content).json()["statements"]
        sent.append(len(statements))
        if len(statements) > 1 or statements[0]["puid"] == broken:
            return httpx.Response(422, json={"message": "The given data was invalid."})
        return httpx.Response(201, json={"statements": [{"puid": statements[0]["puid"], "uuid": f"u-{statements[0]['puid']}"}]})

    with httpx.Client(transport=httpx.MockTransport(database)) as client:
        tally = submit_pending(world.db, Target("http://dsa.test", TOKEN), client=client, sleep=lambda _s: None)
        again = submit_pending(world.db, Target("http://dsa.test", TOKEN), client=client, sleep=lambda _s: None)

    assert (tally.accepted, tally.refused, sent) == (2, 1, [3, 1, 1, 1])
    rows = _rows(world)
    assert [r.submission for r in rows] == [ACCEPTED, REFUSED, ACCEPTED]
    assert rows[1].submission_errors == {"statement": ['{"message":"The given data was invalid."}']}
    assert (again.accepted, again.refused) == (0, 0)  # the next run has nothing left to send


def test_5xx_answers_are_retried_with_growing_waits(world: World, sandbox: Sandbox) -> None:
    decide_posts(world, 2)
    sandbox.fail(503, 2)
    waits: list[float] = []

    tally = _submit(world, sandbox, waits=waits)

    assert (tally.accepted, waits) == (2, [1.0, 2.0])
    assert [r.submission for r in _rows(world)] == [ACCEPTED, ACCEPTED]


def test_a_database_that_keeps_failing_leaves_the_statements_pending(world: World, sandbox: Sandbox) -> None:
    decide_posts(world, 2)
    sandbox.fail(500, 4)
    waits: list[float] = []

    with pytest.raises(SubmissionError, match="did not answer after 4 attempts \\(status 500\\)"):
        _submit(world, sandbox, waits=waits)

    assert waits == [1.0, 2.0, 4.0]
    assert [r.submission for r in _rows(world)] == [PENDING, PENDING]
    assert sandbox.accepted() == []


def test_connection_errors_are_retried_then_leave_the_statements_pending(world: World) -> None:
    decide_posts(world, 1)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    waits: list[float] = []
    with pytest.raises(SubmissionError, match="ConnectError"):
        submit_pending(world.db, Target(f"http://127.0.0.1:{port}", TOKEN), sleep=waits.append)
    assert waits == [1.0, 2.0, 4.0]
    assert [r.submission for r in _rows(world)] == [PENDING]


def test_a_refused_token_stops_the_run_without_retrying(world: World, sandbox: Sandbox) -> None:
    decide_posts(world, 1)
    waits: list[float] = []
    with pytest.raises(SubmissionError, match="refused the token \\(401\\)"):
        _submit(world, sandbox, token="wrong", waits=waits)
    assert waits == []
    assert [r.submission for r in _rows(world)] == [PENDING]


def test_the_recurring_job_submits_to_the_configured_database(world: World, sandbox: Sandbox, settings: Settings) -> None:
    decide_posts(world, 2)
    configured = Settings(**{**settings.__dict__, "dsa_url": sandbox.url, "dsa_token": TOKEN})
    submit_statements(WorkerContext(world.db, configured, FileBlobStore(settings.blob_dir)), SubmitStatements())
    assert [r.submission for r in _rows(world)] == [ACCEPTED, ACCEPTED]


def test_production_submits_nothing_until_the_database_is_configured() -> None:
    production = Settings(env="production")
    assert production.dsa_target is None
    assert Settings(**{**production.__dict__, "dsa_url": "https://dsa.example/", "dsa_token": "t"}).dsa_target == ("https://dsa.example", "t")
    assert Settings().dsa_target == ("http://127.0.0.1:8901", "dsa-sandbox-token")


RESTRICTING = [a for a in Action if action_type(a).restriction is not None]


def test_the_statement_of_every_restriction_is_accepted(world: World, sandbox: Sandbox) -> None:
    with world.db.session() as s:
        publish_version(s, SETUP, "HARASSMENT", {"allowed_actions": [a.value for a in Action]})
    for n, kind in enumerate(RESTRICTING):
        ids = world.add_subjects(account(f"acc-{n}"), item(f"post-{n}", "post", owner=f"acc-{n}", language="pt-BR"))
        request = DecisionRequest("HARASSMENT", verdict="violation", actions=[kind.value], rationale="Insults aimed at one person.",
                                  params={"days": 7} if kind is Action.SUSPEND else {"label": "satire"} if kind is Action.LABEL else {})
        with world.db.session() as s:
            decide_subject(s, SETUP, ids[f"post-{n}"], request, reviewer=Reviewer(world.alice, ("moderator",)))

    tally = _submit(world, sandbox)

    assert (tally.accepted, tally.refused, tally.errors) == (len(RESTRICTING), 0, {})


def test_a_dsa_url_that_is_no_http_url_is_refused() -> None:
    with pytest.raises(ConfigError, match="TRUSTDESK_DSA_URL must be an http\\(s\\) URL"):
        Settings(dsa_url="ftp://dsa.example").check()
