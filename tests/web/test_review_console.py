"""The review console through HTTP: queues, next case, the case page, the guided decision, leases,
comments, imminent harm, queue configuration, cascade takedowns with undo, and bulk decisions.

Reports are filed through the intake API, so every case here was made by routing.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta, timezone

import httpx
import pytest
from sqlalchemy import select, update

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.cases import claiming, sla, wellness
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.demo.images import CONTENT_TYPE, render_photo
from trustdesk.jobs.worker import run_worker
from trustdesk.store.models import (
    AuditEvent,
    Case,
    Decision,
    EnforcementAction,
    Queue,
    QueueOptOut,
    Report,
    StaffUser,
    Strike,
    Subject,
    utcnow,
)
from trustdesk.web.console import review
from trustdesk.web.permissions import SESSION_COOKIE

SETUP = Actor("test", "setup")
STAFF = {"mia": ("Mia Moderator", ["moderator"]), "sam": ("Sam Moderator", ["moderator"]),
         "sue": ("Sue Senior", ["senior"]), "root": ("Root Admin", ["admin"])}


@dataclass
class Desk:
    """The api fixture with queues, a small world of subjects and reports, and four staff users."""

    api: Api
    settings: Settings
    users: dict[str, int]
    subjects: dict[str, int]
    csrf: str = ""

    @property
    def client(self) -> httpx.Client:
        return self.api.client

    def login(self, username: str) -> None:
        with self.api.db.session() as session:
            token = staff.open_session(session, self.settings, session.get_one(StaffUser, self.users[username]))
        with self.api.db.reader() as session:
            found = staff.resolve_session(session, token)
            assert found is not None
            self.csrf = found.csrf_token
        self.client.cookies.set(SESSION_COOKIE, token)

    def post(self, path: str, data: dict[str, object] | None = None) -> httpx.Response:
        return self.client.post(path, data={"csrf_token": self.csrf, **(data or {})}, follow_redirects=False)

    def case_of(self, subject: str) -> Case:
        with self.api.db.reader() as session:
            return session.execute(select(Case).where(Case.subject_id == self.subjects[subject]).order_by(Case.id.desc())).scalars().first()

    def subject(self, external_id: str) -> Subject:
        with self.api.db.reader() as session:
            return session.get_one(Subject, self.subjects[external_id])

    def take(self, username: str, subject: str) -> int:
        """Log in as `username` holding the case on `subject` under a fresh lease, as "next case" leaves it."""
        case_id = self.case_of(subject).id
        with self.api.db.session() as session:
            until = utcnow() + timedelta(seconds=claiming.LEASE_SECONDS)
            session.execute(update(Case).where(Case.id == case_id).values(claimed_by=self.users[username], claimed_at=utcnow(), lease_until=until))
        self.login(username)
        return case_id


def _file(api: Api) -> dict[str, int]:
    subjects = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "acc-1", "kind": "account", "country": "DE"},
        {"external_id": "acc-2", "kind": "account"},
        {"external_id": "post-1", "kind": "post", "account_external_id": "acc-1", "text": "Buy followers now"},
        {"external_id": "msg-1", "kind": "message", "account_external_id": "acc-1", "text": "cheap pills here"},
        {"external_id": "photo-1", "kind": "photo", "account_external_id": "acc-1"},
        {"external_id": "shop-1", "kind": "shop", "account_external_id": "acc-1", "title": "Bargain Bags"},
        {"external_id": "listing-1", "kind": "listing", "parent_external_id": "shop-1", "title": "Bag one",
         "attributes": {"price_cents": 4500, "currency": "EUR"}},
        {"external_id": "listing-2", "kind": "listing", "parent_external_id": "shop-1", "title": "Bag two"},
        {"external_id": "listing-3", "kind": "listing", "parent_external_id": "shop-1", "title": "Bag three", "visibility": "removed"},
    ]})
    assert subjects.status_code == 200, subjects.text
    media = api.client.post("/api/v1/subjects/photo-1/media", files={"file": ("p.jpg", render_photo(7), CONTENT_TYPE)}, headers=api.auth)
    assert media.status_code == 200, media.text
    reports = api.post("/api/v1/reports/batch", {"items": [
        {"external_id": "r1", "subject_external_id": "post-1", "policy_code": "SPAM", "reporter_type": "anonymous"},
        {"external_id": "r2", "subject_external_id": "post-1", "policy_code": "SPAM", "reporter_type": "user",
         "reporter_external_id": "acc-2", "text": "bot account selling followers"},
        {"external_id": "r3", "subject_external_id": "msg-1", "policy_code": "SPAM", "reporter_type": "anonymous"},
        {"external_id": "r4", "subject_external_id": "photo-1", "policy_code": "SEXUAL_CONTENT", "reporter_type": "trusted_flagger",
         "text": "explicit picture in a public album",
         "dsa": {"explanation": "Adult material shown without an age gate.", "notifier_name": "Safe Web Org"}},
    ]})
    assert reports.status_code == 200, reports.text
    return {s["external_id"]: s["id"] for s in subjects.json()["items"]}


@pytest.fixture
def desk(api: Api, settings: Settings) -> Desk:
    with api.db.session() as session:
        seed_queues(session, SETUP)
        users = {
            name: staff.create_user(session, SETUP, settings, username=name, password="long enough password",
                                    roles=roles, display_name=display, with_totp=False).id
            for name, (display, roles) in STAFF.items()
        }
    return Desk(api, settings, users, _file(api))


def _count(page: str, queue: str, name: str) -> int:
    row = re.search(rf'<tr data-queue="{re.escape(queue)}".*?</tr>', page, re.S)
    assert row, f"no row for queue {queue!r}"
    found = re.search(rf'data-count="{name}">(\d+)<', row.group(0))
    assert found
    return int(found.group(1))


def _queue_id(desk: Desk, name: str) -> int:
    with desk.api.db.reader() as session:
        return session.execute(select(Queue.id).where(Queue.name == name)).scalar_one()


# --- queues and next case -------------------------------------------------------------------


def test_queues_page_counts_open_breached_and_claimed_cases(desk: Desk) -> None:
    with desk.api.db.session() as session:
        session.execute(update(Case).where(Case.subject_id == desk.subjects["msg-1"]).values(due_at=utcnow() - timedelta(minutes=12)))
    sla.sweep(desk.api.db)  # records the breach, as the recurring job does every minute
    desk.take("mia", "post-1")
    page = desk.client.get("/queues")
    assert page.status_code == 200
    assert (_count(page.text, "General", "open"), _count(page.text, "General", "breached"), _count(page.text, "General", "claimed")) == (2, 1, 1)
    assert (_count(page.text, "Graphic content", "open"), _count(page.text, "Graphic content", "claimed")) == (1, 0)
    assert 'id="next-case"' in page.text and "Next case" in page.text


def test_next_case_claims_the_most_urgent_case_and_redirects_to_it(desk: Desk) -> None:
    desk.login("mia")
    taken = desk.post("/cases/next")
    assert taken.status_code == 303
    case_id = int(taken.headers["location"].rsplit("/", 1)[1])
    with desk.api.db.reader() as session:
        case = session.get_one(Case, case_id)
        most_urgent = session.execute(select(Case).where(Case.status == "open").order_by(Case.priority_score.desc(), Case.due_at)).scalars().first()
    assert case.id == most_urgent.id and case.claimed_by == desk.users["mia"]


def test_nothing_to_review_is_said_calmly(desk: Desk) -> None:
    with desk.api.db.session() as session:
        session.execute(update(Case).values(status="decided"))
    desk.login("mia")
    taken = desk.post("/cases/next")
    assert taken.status_code == 303 and taken.headers["location"] == "/queues?notice=nothing"
    assert "Nothing to review right now" in desk.client.get(taken.headers["location"]).text


def test_reaching_the_exposure_limit_prompts_a_break_naming_the_queue(desk: Desk) -> None:
    graphic = _queue_id(desk, "Graphic content")
    with desk.api.db.session() as session:
        session.execute(update(Case).where(Case.queue_id != graphic).values(status="decided"))
        session.execute(update(Queue).where(Queue.id == graphic).values(exposure_limit_per_hour=1))
        wellness.count_exposure(session, desk.users["mia"])
    desk.login("mia")
    taken = desk.post("/cases/next")
    assert taken.headers["location"] == "/queues?notice=nothing"  # the graphic case waits for the next hour
    page = desk.client.get(taken.headers["location"]).text
    assert 'data-testid="take-a-break"' in page and re.search(r"exposure limit for\s+Graphic content", page)


def test_stepping_out_of_a_graphic_queue_and_back_in(desk: Desk) -> None:
    graphic, general = _queue_id(desk, "Graphic content"), _queue_id(desk, "General")
    desk.login("mia")
    assert desk.post(f"/queues/{graphic}/step-out").headers["location"] == "/queues?notice=stepped-out"
    page = desk.client.get("/queues?notice=stepped-out").text
    assert "No penalty" in page and "Step back in" in page
    with desk.api.db.reader() as session:
        assert session.get(QueueOptOut, (desk.users["mia"], graphic)) is not None
    refused = desk.post(f"/queues/{general}/step-out")
    assert refused.status_code == 422 and "only graphic queues can be stepped out of" in refused.text
    desk.post(f"/queues/{graphic}/step-in")
    with desk.api.db.reader() as session:
        assert session.get(QueueOptOut, (desk.users["mia"], graphic)) is None


# --- queue view ---------------------------------------------------------------------------


def test_queue_view_lists_cases_in_claim_order_with_why_breach_and_claims(desk: Desk) -> None:
    with desk.api.db.session() as session:
        session.execute(update(Case).where(Case.subject_id == desk.subjects["msg-1"]).values(due_at=utcnow() - timedelta(minutes=12, seconds=30)))
    desk.take("mia", "post-1")
    general = _queue_id(desk, "General")
    desk.login("sam")
    page = desk.client.get(f"/queues/{general}").text
    rows = re.findall(r'<tr data-case="(\d+)"', page)
    assert rows == [str(desk.case_of("post-1").id), str(desk.case_of("msg-1").id)]  # post-1 has two reports: the higher score
    assert "breached 12 min ago" in page and "claimed by Mia Moderator" in page
    assert "20 × the policy&#39;s severity" in page  # the "why" of the score
    assert 'name="staff_id"' not in page and 'name="subject_ids"' not in page  # a moderator neither assigns nor bulk-decides

    desk.login("sue")
    senior = desk.client.get(f"/queues/{general}").text
    assert 'name="staff_id"' in senior and f'name="subject_ids" value="{desk.subjects["msg-1"]}"' in senior
    filtered = desk.client.get(f"/queues/{general}?policy_code=SCAM").text
    assert re.findall(r'<tr data-case="', filtered) == []


def test_queue_view_filters_sorts_and_pages_by_keyset(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(review, "QUEUE_PAGE", 1)
    general = _queue_id(desk, "General")
    post, msg = desk.case_of("post-1"), desk.case_of("msg-1")
    with desk.api.db.session() as session:  # msg-1 came in a day earlier and is past its SLA
        session.execute(update(Case).where(Case.id == msg.id).values(
            created_at=utcnow() - timedelta(days=1, hours=2), due_at=utcnow() - timedelta(hours=2)))
    desk.login("mia")

    def rows(query: str) -> list[int]:
        page = desk.client.get(f"/queues/{general}{query}")
        assert page.status_code == 200, page.text
        return [int(i) for i in re.findall(r'<tr data-case="(\d+)"', page.text)]

    first = desk.client.get(f"/queues/{general}").text
    assert rows("") == [post.id] and "offset" not in first and 'data-testid="previous-page"' not in first
    later = html.unescape(re.search(r'<a href="([^"]+)" rel="next"', first).group(1))
    assert "after=" in later
    second = desk.client.get(later).text
    assert re.findall(r'<tr data-case="(\d+)"', second) == [str(msg.id)]
    assert 'rel="next"' not in second and 'data-testid="first-page"' in second
    earlier = html.unescape(re.search(r'<a href="([^"]+)" rel="prev"', second).group(1))
    assert rows(earlier.removeprefix(f"/queues/{general}")) == [post.id]

    assert rows("?sort=oldest") == [msg.id] and rows("?sort=newest") == [post.id]
    assert rows("?breached=yes") == [msg.id] and rows("?breached=no") == [post.id]
    assert rows("?age=over-1d") == [msg.id] and rows("?age=under-1h") == [post.id]
    assert rows("?reporter_type=user") == [post.id]  # r2 on post-1; msg-1 was reported anonymously
    assert rows("?band=P0") == [] and rows("?policy_code=SCAM") == []
    filtered = desk.client.get(f"/queues/{general}?sort=oldest&breached=yes").text
    assert 'value="oldest" selected' in filtered and 'value="yes" selected' in filtered
    assert "No open cases that match these filters" in desk.client.get(f"/queues/{general}?band=P0").text
    for bad, field in (("?band=P9", "band"), ("?sort=random", "sort"), ("?after=not-a-cursor", "after"), ("?breached=maybe", "breached")):
        refused = desk.client.get(f"/queues/{general}{bad}")
        assert refused.status_code == 422 and f"{field}: " in refused.text, bad
        assert re.findall(r'<tr data-case="(\d+)"', refused.text) == [str(post.id)]  # the plain queue, with the reason


def test_queue_view_counts_down_live_and_marks_what_you_skipped(desk: Desk) -> None:
    general = _queue_id(desk, "General")
    desk.login("mia")
    first = desk.post("/cases/next", {"queue_id": str(general)}).headers["location"]
    skipped = int(re.match(r"/cases/(\d+)", first).group(1))
    desk.post("/cases/next", {"queue_id": str(general)})
    page = desk.client.get(f"/queues/{general}").text
    due = desk.case_of("post-1").due_at if desk.case_of("post-1").id == skipped else desk.case_of("msg-1").due_at
    assert f'data-due-ms="{int(due.replace(tzinfo=timezone.utc).timestamp() * 1000)}"' in page and "data-now-ms=" in page
    assert "data-since-ms=" in page
    row = re.search(rf'<tr data-case="{skipped}".*?</tr>', page, re.S).group(0)
    assert 'data-testid="skipped"' in row and "you skipped it" in row
    assert page.count('data-testid="skipped"') == 1


def test_next_case_from_a_queue_page_takes_from_that_queue_and_keeps_to_it(desk: Desk) -> None:
    general, graphic = _queue_id(desk, "General"), _queue_id(desk, "Graphic content")
    with desk.api.db.session() as session:  # the most urgent case of all waits in another queue
        session.execute(update(Case).where(Case.queue_id == graphic).values(priority_score=10_000.0))
    desk.login("mia")
    page = desk.client.get(f"/queues/{general}").text
    assert f'name="queue_id" value="{general}"' in page and "Next case from this queue" in page
    taken = desk.post("/cases/next", {"queue_id": str(general)})
    assert taken.status_code == 303
    first = int(re.fullmatch(rf"/cases/(\d+)\?queue={general}", taken.headers["location"]).group(1))
    assert first == desk.case_of("post-1").id
    case_page = desk.client.get(taken.headers["location"]).text
    assert case_page.count(f'name="queue_id" value="{general}"') == 2  # the decision form and "next case"
    assert 'data-testid="working"' in case_page and "Taking cases from General only" in case_page
    done = _decide(desk, first, queue_id=str(general))
    second = int(re.fullmatch(rf"/cases/(\d+)\?notice=decided&queue={general}", done.headers["location"]).group(1))
    assert second == desk.case_of("msg-1").id
    done = _decide(desk, second, answers=["1", "1"], actions=[], rationale="", queue_id=str(general))
    assert done.headers["location"] == f"/queues/{general}?notice=decided-last"
    assert desk.case_of("photo-1").claimed_by is None  # never served from another queue


def test_a_queue_you_cannot_take_from_says_why(desk: Desk) -> None:
    spanish = _queue_id(desk, "Spanish and Portuguese")
    desk.login("mia")
    page = desk.client.get(f"/queues/{spanish}").text
    assert 'id="next-case"' not in page and "You cannot take cases here now: not for your roles or languages." in page
    refused = desk.post("/cases/next", {"queue_id": str(spanish)})
    assert refused.status_code == 403 and "queue_id: the Spanish and Portuguese queue is not for your roles or languages" in refused.text
    assert desk.post("/cases/next", {"queue_id": "99999"}).status_code == 404
    assert desk.post("/cases/next", {"queue_id": str(2**63)}).status_code == 422


def test_a_closed_case_shows_no_sla_countdown(desk: Desk) -> None:
    case_id = desk.take("mia", "post-1")
    assert 'data-testid="due"' in desk.client.get(f"/cases/{case_id}").text
    _decide(desk, case_id)
    page = desk.client.get(f"/cases/{case_id}").text
    assert "data-due-ms" not in page and " left<" not in page and "breached " not in page
    assert re.search(r'data-testid="closed">decided \d{4}-\d\d-\d\d \d\d:\d\d UTC<', page)


def test_a_senior_assigns_a_case_to_a_reviewer(desk: Desk) -> None:
    case = desk.case_of("msg-1")
    desk.login("sue")
    done = desk.post(f"/cases/{case.id}/assign", {"staff_id": str(desk.users["sam"])})
    assert done.status_code == 303 and done.headers["location"] == f"/queues/{case.queue_id}?notice=assigned"
    assert desk.case_of("msg-1").assigned_to == desk.users["sam"]
    desk.login("sue")
    assert "assigned to Sam Moderator" in desk.client.get(f"/queues/{case.queue_id}").text
    desk.login("sam")
    assert desk.post("/cases/next").headers["location"] == f"/cases/{case.id}"


# --- the case page ------------------------------------------------------------------------


def test_case_page_shows_everything_needed_and_blurs_media(desk: Desk) -> None:
    case_id = desk.take("mia", "photo-1")
    assert desk.post(f"/cases/{case_id}/comments", {"body": "Looks like a stock photo"}).status_code == 200
    page = desk.client.get(f"/cases/{case_id}").text
    assert "explicit picture in a public album" in page and "Adult material shown without an age gate." in page
    assert "Notifier: Safe Web Org" in page and "trusted flagger" in page
    assert 'data-testid="content-warning"' in page  # an adult-content policy is graphic
    assert re.search(rf'<img src="/subjects/{desk.subjects["photo-1"]}/media/\d+"', page) and "data-reveal" in page
    assert "Looks like a stock photo" in page and "Mia Moderator" in page
    assert "No automated signals yet." in page
    assert "acc-1" in page  # the owning account, with its history
    css = desk.client.get("/static/review.css").text
    assert re.search(r"\.media img, \.media video \{[^}]*filter:blur\(24px\) grayscale\(1\)", css)
    assert 'id="decision"' in page and 'hx-trigger="renew"' in page and 'data-active-within=' in page


def test_comments_are_added_with_htmx_and_empty_ones_refused(desk: Desk) -> None:
    case_id = desk.take("mia", "post-1")
    added = desk.client.post(f"/cases/{case_id}/comments", data={"body": "Same text as last week's ring"}, headers={"X-CSRF-Token": desk.csrf})
    assert added.status_code == 200 and "<html" not in added.text
    assert "Same text as last week&#39;s ring" in added.text and 'id="comments"' in added.text
    empty = desk.client.post(f"/cases/{case_id}/comments", data={"body": "  "}, headers={"X-CSRF-Token": desk.csrf})
    assert empty.status_code == 422 and "a comment needs 1–10,000 characters" in empty.text


def test_walking_the_decision_tree_fragment_by_fragment(desk: Desk) -> None:
    case_id = desk.take("mia", "post-1")
    first = desk.client.get(f"/cases/{case_id}/decision?policy_code=SPAM")
    assert first.status_code == 200 and "<html" not in first.text
    assert "Is it repeated or mass-sent" in first.text
    assert "Search for the text or link: other cases with it show the wave." in first.text  # the question's help
    assert "Unsolicited mass messages and advertising" in first.text  # the policy's description…
    assert "<li>Look for the wave, not the message" in first.text  # …and its guidance, beside the tree
    assert f'hx-get="/cases/{case_id}/decision?policy_code=SPAM&amp;answers=0"' in first.text
    assert f'data-shortcut="v" hx-get="/cases/{case_id}/decision?policy_code=SPAM&amp;answers=1&amp;answers=1"' in first.text

    second = desk.client.get(f"/cases/{case_id}/decision?policy_code=SPAM&answers=0").text
    assert "Is the account fake or automated" in second
    assert '<input type="hidden" name="answers" value="0">' in second

    banned = desk.client.get(f"/cases/{case_id}/decision?policy_code=SPAM&answers=0&answers=0").text
    assert "Find the rest of the network through Related accounts" in banned  # the outcome's note
    outcome = desk.client.get(f"/cases/{case_id}/decision?policy_code=SPAM&answers=0&answers=1").text
    assert 'data-testid="verdict">Violation' in outcome
    checked = set(re.findall(r'name="actions" value="(\w+)" checked', outcome))
    assert checked == {"remove", "strike"}
    allowed = set(re.findall(r'name="actions" value="(\w+)"', outcome))
    assert allowed == {"remove", "restrict_visibility", "label", "warn", "strike", "suspend", "ban"}
    assert 'name="rationale" rows="3" maxlength="10000" required' in outcome and "data-decide" in outcome

    cleared = desk.client.get(f"/cases/{case_id}/decision?policy_code=SPAM&answers=1&answers=1").text
    assert 'data-testid="verdict">No violation' in cleared and 'name="actions"' not in cleared

    other = desk.client.get(f"/cases/{case_id}/decision?policy_code=SCAM").text
    assert "“Scams and fraud”" in other and "Does it ask for money, gift cards, crypto" in other
    wrong = desk.client.get(f"/cases/{case_id}/decision?policy_code=SPAM&answers=5").text
    assert "answers: 5 is not an answer" in wrong and "Is it repeated or mass-sent" in wrong


def _decide(desk: Desk, case_id: int, **fields: object) -> httpx.Response:
    form = {"policy_code": "SPAM", "answers": ["0", "1"], "actions": ["remove", "strike"], "rationale": "Sells fake followers.",
            "opened_ms": "0"} | fields
    return desk.post(f"/cases/{case_id}/decide", form)


def test_deciding_removes_the_content_strikes_closes_reports_and_lands_on_the_next_case(desk: Desk) -> None:
    case_id = desk.take("mia", "post-1")
    done = _decide(desk, case_id)
    assert done.status_code == 303
    next_id = int(re.fullmatch(r"/cases/(\d+)\?notice=decided", done.headers["location"]).group(1))
    assert next_id != case_id
    with desk.api.db.reader() as session:
        assert session.get_one(Subject, desk.subjects["post-1"]).visibility == "removed"
        strikes = session.execute(select(Strike).where(Strike.account_id == desk.subjects["acc-1"])).scalars().all()
        assert [s.policy_code for s in strikes] == ["SPAM"]
        reports = session.execute(select(Report.status).where(Report.subject_id == desk.subjects["post-1"])).scalars().all()
        assert reports == ["actioned", "actioned"]
        decision = session.execute(select(Decision)).scalar_one()
        assert (decision.case_id, decision.verdict, decision.actions, decision.reviewer_id) == (case_id, "violation", ["remove", "strike"], desk.users["mia"])
        assert session.get_one(Case, case_id).status == "decided"
        assert session.get_one(Case, next_id).claimed_by == desk.users["mia"]
    landed = desk.client.get(done.headers["location"]).text
    assert "Decision recorded. Here is your next case." in landed
    # Every other case is acc-1's too: its history now shows the decision and the strike.
    assert re.search(r"<td>SPAM</td>\s*<td class=\"late\">violation</td><td><small>remove, strike</small></td>", landed)
    assert "Active strikes" in landed and "weight 2" in landed


def test_no_violation_needs_no_rationale_and_closes_the_reports_as_unfounded(desk: Desk) -> None:
    case_id = desk.take("mia", "msg-1")
    done = _decide(desk, case_id, answers=["1", "1"], actions=[], rationale="")
    assert done.status_code == 303
    with desk.api.db.reader() as session:
        assert session.get_one(Subject, desk.subjects["msg-1"]).visibility == "visible"
        assert session.execute(select(Report.status).where(Report.subject_id == desk.subjects["msg-1"])).scalars().all() == ["unfounded"]


def test_a_violation_without_rationale_or_with_bad_params_is_refused_with_a_message(desk: Desk) -> None:
    case_id = desk.take("mia", "post-1")
    no_reason = _decide(desk, case_id, rationale="  ")
    assert no_reason.status_code == 422 and "rationale: say why this breaks the policy" in html.unescape(no_reason.text)
    assert "Sells fake followers." not in no_reason.text and 'value="strike" checked' in no_reason.text  # the draft is kept
    no_days = _decide(desk, case_id, actions=["suspend"])
    assert no_days.status_code == 422 and "params.days: suspend needs a whole number of days" in no_days.text
    with desk.api.db.reader() as session:
        assert session.execute(select(Decision)).first() is None
        assert session.get_one(Case, case_id).status == "open"


def test_a_reviewer_who_does_not_hold_the_case_reads_it_but_cannot_decide(desk: Desk) -> None:
    case_id = desk.take("mia", "post-1")
    desk.login("sam")
    page = desk.client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert "Read-only." in page.text and "Mia Moderator is working on this case" in page.text
    assert 'id="decision"' not in page.text
    # The case's policy is still explained: what it forbids and how to check it.
    assert 'data-testid="policy-description">Unsolicited mass messages' in page.text and "<li>Look for the wave" in page.text
    refused = _decide(desk, case_id)
    assert refused.status_code == 409 and "you do not hold this case" in refused.text
    lease = desk.post(f"/cases/{case_id}/renew")
    assert lease.status_code == 200 and 'data-testid="lease-lost"' in lease.text
    with desk.api.db.reader() as session:
        assert session.get_one(Subject, desk.subjects["post-1"]).visibility == "visible"
        assert session.execute(select(Decision)).first() is None
        case = session.get_one(Case, case_id)
        assert (case.status, case.claimed_by) == ("open", desk.users["mia"])


def test_the_lease_is_renewed_while_the_page_is_open_and_its_loss_is_shown(desk: Desk) -> None:
    case_id = desk.take("mia", "post-1")
    with desk.api.db.session() as session:
        session.execute(update(Case).where(Case.id == case_id).values(lease_until=utcnow() + timedelta(seconds=5)))
    renewed = desk.post(f"/cases/{case_id}/renew")
    assert renewed.status_code == 200 and 'hx-trigger="renew"' in renewed.text and "at the latest" in renewed.text
    assert claiming.LEASE_SECONDS - 10 < (desk.case_of("post-1").lease_until.replace(tzinfo=None) - utcnow().replace(tzinfo=None)).total_seconds()
    with desk.api.db.session() as session:
        session.execute(update(Case).where(Case.id == case_id).values(lease_until=utcnow() - timedelta(seconds=1)))
    lost = desk.post(f"/cases/{case_id}/renew")
    assert 'data-testid="lease-lost"' in lost.text and "hx-trigger" not in lost.text
    assert "Your hold ran out while the page was idle, so the case went back to the queue." in lost.text


def test_a_renewal_past_the_maximum_hold_is_refused_and_says_why(desk: Desk) -> None:
    case_id = desk.take("mia", "post-1")
    with desk.api.db.session() as session:  # claimed 59 minutes ago: the lease stops at the hour
        session.execute(update(Case).where(Case.id == case_id).values(claimed_at=utcnow() - timedelta(minutes=59)))
    assert 'hx-trigger="renew"' in desk.post(f"/cases/{case_id}/renew").text
    held_until = desk.case_of("post-1").lease_until.replace(tzinfo=None)
    assert abs((held_until - (utcnow() + timedelta(minutes=1)).replace(tzinfo=None)).total_seconds()) < 10
    with desk.api.db.session() as session:  # the hour is up: the lease the renewal gave ran out with it
        session.execute(update(Case).where(Case.id == case_id).values(
            claimed_at=utcnow() - timedelta(minutes=61), lease_until=utcnow() - timedelta(minutes=1)))
    refused = desk.post(f"/cases/{case_id}/renew")
    assert refused.status_code == 200 and 'data-testid="lease-lost"' in refused.text
    assert "You held this case for 60 minutes, the most one claim may, so it went back to the queue" in refused.text
    assert desk.case_of("post-1").lease_until.replace(tzinfo=None) < utcnow().replace(tzinfo=None)


def test_flagging_imminent_harm_makes_the_case_top_priority(desk: Desk) -> None:
    case_id = desk.take("mia", "msg-1")
    empty = desk.post(f"/cases/{case_id}/imminent-harm", {"reason": " "})
    assert empty.status_code == 422 and "reason: say what the imminent harm is" in empty.text
    flagged = desk.post(f"/cases/{case_id}/imminent-harm", {"reason": "says they will hurt themselves tonight"})
    # The Imminent harm queue is for seniors and escalations: the moderator hands the case over.
    assert flagged.status_code == 303 and flagged.headers["location"] == "/queues?notice=flagged-handed-over"
    case = desk.case_of("msg-1")
    assert (case.band, case.imminent_harm, case.queue_id, case.claimed_by) == ("P0", True, _queue_id(desk, "Imminent harm"), None)
    assert "its team takes it from here" in desk.client.get(flagged.headers["location"]).text
    assert desk.client.get(f"/cases/{case_id}").status_code == 404

    case_id = desk.take("sue", "post-1")
    flagged = desk.post(f"/cases/{case_id}/imminent-harm", {"reason": "a threat to a named person"})
    assert flagged.status_code == 303 and flagged.headers["location"] == f"/cases/{case_id}?notice=flagged"
    assert "Flagged as imminent harm" in desk.client.get(flagged.headers["location"]).text
    assert desk.case_of("post-1").claimed_by == desk.users["sue"]


# --- queue configuration ------------------------------------------------------------------


def _queue_form(**fields: object) -> dict[str, object]:
    return {"name": "Scam desk", "routing_expression": "policy.code == 'SCAM'", "position": "15",
            "sla_P0": "30", "sla_P1": "120", "sla_P2": "600", "sla_P3": "2880", "required_languages": "en, de",
            "required_roles": ["moderator", "senior"], "exposure_limit_per_hour": "", "escalate_minutes_before_breach": "",
            "escalation_queue": "", "active": "on"} | fields


def test_the_queue_form_refuses_a_bad_expression_naming_the_problem(desk: Desk) -> None:
    desk.login("root")
    form = desk.client.get("/queues/new").text
    assert "<code>report.imminent_harm</code>" in form and "<code>subject.country</code>" in form and "<code>signals</code>" in form
    refused = desk.post("/queues/new", _queue_form(routing_expression="report.polcy == 'SCAM'"))
    assert refused.status_code == 422
    error = html.unescape(re.search(r'data-testid="form-error">([^<]*)<', refused.text).group(1))
    assert error.startswith("routing_expression:") and "polcy" in error
    assert "report.polcy == &#39;SCAM&#39;" in refused.text  # what the admin typed is kept
    not_a_number = desk.post("/queues/new", _queue_form(sla_P1="soon"))
    assert not_a_number.status_code == 422 and "sla_P1: must be a whole number" in html.unescape(not_a_number.text)
    with desk.api.db.reader() as session:
        assert session.execute(select(Queue).where(Queue.name == "Scam desk")).first() is None


@pytest.mark.parametrize(("box", "value"), [
    ("sla_P0", str(10**10)), ("escalate_minutes_before_breach", str(10**12)), ("position", str(2**40)),
    ("exposure_limit_per_hour", "0"),
])
def test_the_queue_form_bounds_its_numbers_naming_the_box(desk: Desk, box: str, value: str) -> None:
    desk.login("root")
    form = desk.client.get("/queues/new").text
    assert f'name="{box}" type="number"' in form and "max=" in form
    refused = desk.post("/queues/new", _queue_form(**{box: value, "escalation_queue": "General"}))
    assert refused.status_code == 422
    error = html.unescape(re.search(r'data-testid="form-error">([^<]*)<', refused.text).group(1))
    assert error.startswith("sla_minutes:" if box.startswith("sla_") else f"{box}:")
    with desk.api.db.reader() as session:
        assert session.execute(select(Queue).where(Queue.name == "Scam desk")).first() is None


def test_an_admin_creates_and_edits_a_queue(desk: Desk) -> None:
    desk.login("root")
    created = desk.post("/queues/new", _queue_form())
    assert created.status_code == 303
    queue_id = int(re.fullmatch(r"/queues/(\d+)\?notice=saved", created.headers["location"]).group(1))
    with desk.api.db.reader() as session:
        queue = session.get_one(Queue, queue_id)
        assert (queue.routing_expression, queue.position, queue.sla_minutes["P1"]) == ("policy.code == 'SCAM'", 15, 120)
        assert (queue.required_roles, queue.required_languages, queue.active) == (["moderator", "senior"], ["de", "en"], True)
    edit = desk.client.get(f"/queues/{queue_id}/edit").text
    assert 'value="Scam desk"' in edit and 'value="senior" checked' in edit
    changed = desk.post(f"/queues/{queue_id}/edit", _queue_form(graphic="on", exposure_limit_per_hour="20", escalation_queue="Imminent harm"))
    assert changed.status_code == 303
    with desk.api.db.reader() as session:
        queue = session.get_one(Queue, queue_id)
        assert (queue.graphic, queue.exposure_limit_per_hour, queue.escalation_queue_id) == (True, 20, _queue_id(desk, "Imminent harm"))
    desk.login("mia")
    assert desk.post("/queues/new", _queue_form(name="Sneaky")).status_code == 403


# --- cascade and undo ---------------------------------------------------------------------


def test_cascade_takedown_preview_apply_and_undo(desk: Desk) -> None:
    shop = desk.subjects["shop-1"]
    listings = [desk.subjects[f"listing-{n}"] for n in (1, 2, 3)]
    desk.login("mia")
    assert desk.client.get(f"/subjects/{shop}/cascade").status_code == 403
    desk.login("sue")
    assert f'href="/subjects/{shop}/cascade?kind=cascade_takedown"' in desk.client.get(f"/subjects/{shop}").text
    preview = desk.client.get(f"/subjects/{shop}/cascade?kind=cascade_takedown")
    assert preview.status_code == 200
    assert re.search(r'data-testid="change-count">3<', preview.text) and "1 already hidden" in preview.text
    assert set(re.findall(r'<tr data-subject="(\d+)">', preview.text)) == {str(shop), str(listings[0]), str(listings[1])}
    assert preview.text.count("<td>visible</td>") == 3 and preview.text.count("<strong>removed</strong>") == 3

    assert '<option value="COUNTERFEIT" ' in preview.text and '<option value="SPAM" ' not in preview.text
    no_reason = desk.post(f"/subjects/{shop}/cascade", {"kind": "cascade_takedown", "policy_code": "COUNTERFEIT", "rationale": ""})
    assert no_reason.status_code == 422 and "rationale: say why" in no_reason.text
    assert desk.subject("shop-1").visibility == "visible"

    wrong_policy = desk.post(f"/subjects/{shop}/cascade", {"kind": "cascade_takedown", "policy_code": "SPAM", "rationale": "Spam shop."})
    assert wrong_policy.status_code == 422 and "cascade_takedown not allowed under SPAM" in wrong_policy.text
    assert "Spam shop." in wrong_policy.text  # the rationale typed is kept
    assert desk.subject("shop-1").visibility == "visible"

    applied = desk.post(f"/subjects/{shop}/cascade", {"kind": "cascade_takedown", "policy_code": "COUNTERFEIT",
                                                      "rationale": "Counterfeit shop, every listing a replica."})
    assert applied.status_code == 303
    action_page = applied.headers["location"]
    assert [desk.subject(n).visibility for n in ("shop-1", "listing-1", "listing-2", "listing-3")] == ["removed"] * 4
    with desk.api.db.reader() as session:  # the cascade is a decision like any other, with its policy and rationale
        decision = session.execute(select(Decision).where(Decision.subject_id == shop)).scalar_one()
        root = session.execute(select(EnforcementAction).where(EnforcementAction.cascade_of.is_(None))).scalar_one()
        cascaded = session.execute(select(EnforcementAction.decision_id).where(EnforcementAction.cascade_of == root.id)).scalars().all()
    assert (decision.kind, decision.policy_code, decision.verdict, decision.reviewer_id) == ("direct", "COUNTERFEIT", "violation", desk.users["sue"])
    assert decision.rationale == "Counterfeit shop, every listing a replica." and root.decision_id == decision.id
    assert cascaded == [decision.id] * 2 and action_page == f"/actions/{root.id}"
    result = desk.client.get(action_page).text
    assert "Applied to 3 subjects" in result and "Undo" in result

    assert 'name="reason" rows="2" maxlength="2000" required' in result and 'name="confirm" required' in result
    reason = "The brand confirmed it is an authorised outlet."
    for form, field, message in (({}, "confirm", "tick the box to confirm"), ({"reason": reason}, "confirm", "tick the box"),
                                 ({"confirm": "on"}, "reason", "say why the cascade is undone")):
        refused = desk.post(f"{action_page}/undo", form)
        assert refused.status_code == 422 and f'data-testid="{field}-error">{field}: {message}' in refused.text, (form, refused.text[-2000:])
        assert desk.subject("shop-1").visibility == "removed"
    assert "The brand confirmed" in desk.post(f"{action_page}/undo", {"reason": reason}).text  # the reason typed is kept

    undone = desk.post(f"{action_page}/undo", {"reason": reason, "confirm": "on"})
    assert undone.status_code == 200
    assert "Restored 3 subjects" in undone.text and "skipped 0" in undone.text
    assert [desk.subject(n).visibility for n in ("shop-1", "listing-1", "listing-2", "listing-3")] == ["visible", "visible", "visible", "removed"]
    with desk.api.db.reader() as session:
        recorded = session.execute(select(AuditEvent.after).where(AuditEvent.verb == "action.undone")).scalars().all()
    assert [r["reason"] for r in recorded] == [reason] * 3
    again = desk.post(f"{action_page}/undo", {"reason": reason, "confirm": "on"})
    assert again.status_code == 409 and "was already undone" in again.text


def test_cascade_of_an_action_that_does_not_cascade_is_a_message(desk: Desk) -> None:
    desk.login("sue")
    page = desk.client.get(f"/subjects/{desk.subjects['shop-1']}/cascade?kind=warn")
    assert page.status_code == 422 and "warn does not cascade" in page.text


# --- bulk ---------------------------------------------------------------------------------


def test_bulk_decision_starts_runs_in_the_worker_and_shows_progress(desk: Desk) -> None:
    post, msg = desk.subjects["post-1"], desk.subjects["msg-1"]
    desk.login("sue")
    prefilled = desk.client.get(f"/bulk?subject_ids={post}&subject_ids={msg}").text
    assert f">{post}\n{msg}</textarea>" in prefilled
    bad = desk.post("/bulk", {"subject_ids": f"{post}, twelve", "policy_code": "SPAM", "verdict": "violation", "actions": ["remove"], "rationale": "spam"})
    assert bad.status_code == 422 and "subject_ids: not subject ids: twelve" in bad.text
    not_allowed = desk.post("/bulk", {"subject_ids": str(post), "policy_code": "SPAM", "verdict": "violation", "actions": ["demonetise"], "rationale": "spam"})
    assert not_allowed.status_code == 422 and "demonetise not allowed under SPAM" in not_allowed.text

    started = desk.post("/bulk", {"subject_ids": f"{post}\n{msg}, 999999", "policy_code": "SPAM", "verdict": "violation",
                                  "actions": ["remove"], "rationale": "Coordinated spam run."})
    assert started.status_code == 303
    progress_url = started.headers["location"] + "/progress"
    waiting = desk.client.get(progress_url).text
    assert 'data-testid="bulk-status">queued<' in waiting and 'hx-trigger="every 2s"' in waiting
    assert "0 applied · 0 skipped\n      · 1 failed · 2 waiting · 3 in all" in waiting
    assert re.search(r'data-item="3" data-status="failed">.*?no subject 999999', waiting, re.S)  # known before it runs

    assert run_worker(desk.api.db, desk.settings, worker_id="test", once=True) >= 1
    done = desk.client.get(progress_url).text
    assert 'data-testid="bulk-status">done<' in done and "hx-trigger" not in done
    assert "2 applied · 0 skipped\n      · 1 failed · 0 waiting · 3 in all" in done
    assert re.findall(r'data-item="(\d)" data-status="(\w+)"', done) == [("1", "applied"), ("2", "applied"), ("3", "failed")]
    assert [desk.subject(n).visibility for n in ("post-1", "msg-1")] == ["removed", "removed"]
    page = desk.client.get(started.headers["location"]).text
    assert "Coordinated spam run." in page and 'data-testid="undo-form"' in page
    only_failed = desk.client.get(started.headers["location"] + "?show=failed").text
    assert re.findall(r'data-item="(\d)"', only_failed) == ["3"]


def test_bulk_by_external_id_then_its_undo_with_a_reason_and_a_confirmation(desk: Desk) -> None:
    desk.login("sue")
    form = {"app": "dating", "subject_ids": "post-1\nmsg-1\nno-such-post\npost-1", "policy_code": "SPAM", "verdict": "violation",
            "actions": ["remove"], "rationale": "Spam run."}
    assert '<option value="dating" >External ids in Dating' in desk.client.get("/bulk").text
    unknown_app = desk.post("/bulk", form | {"app": "nope"})
    assert unknown_app.status_code == 422 and "app: no app &#39;nope&#39;" in unknown_app.text and "no-such-post" in unknown_app.text
    started = desk.post("/bulk", form)
    assert started.status_code == 303
    run_worker(desk.api.db, desk.settings, worker_id="test", once=True)
    page = desk.client.get(started.headers["location"]).text
    rows = re.findall(r'data-item="(\d)" data-status="(\w+)">\s*<td class="num">\d</td>\s*<td><code>([^<]+)</code>.*?<td class="small">([^<]*)</td>', page, re.S)
    assert rows == [("1", "applied", "dating:post-1", ""), ("2", "applied", "dating:msg-1", ""),
                    ("3", "failed", "dating:no-such-post", "no subject &#39;no-such-post&#39; in app dating"),
                    ("4", "skipped", "dating:post-1", "the same subject as item 1")]

    undo_url = started.headers["location"] + "/undo"
    for data, message in (({"reason": "false alarm"}, "confirm: tick the box"), ({"confirm": "on"}, "reason: say why")):
        refused = desk.post(undo_url, data)
        assert refused.status_code == 422 and message in refused.text
    assert [desk.subject(n).visibility for n in ("post-1", "msg-1")] == ["removed", "removed"]
    undo = desk.post(undo_url, {"reason": "False alarm: a promotion the platform ran.", "confirm": "on"})
    assert undo.status_code == 303
    queued = desk.client.get(undo.headers["location"]).text
    assert "Undo of" in queued and "False alarm: a promotion the platform ran." in queued and "0 undone" in queued
    run_worker(desk.api.db, desk.settings, worker_id="test", once=True)
    undone = desk.client.get(undo.headers["location"]).text
    assert re.findall(r'data-item="(\d)" data-status="(\w+)"', undone) == [("1", "undone"), ("2", "undone")]
    assert [desk.subject(n).visibility for n in ("post-1", "msg-1")] == ["visible", "visible"]
    original = desk.client.get(started.headers["location"]).text
    assert 'data-testid="undone-by"' in original and 'data-testid="undo-form"' not in original
    assert desk.post(undo_url, {"reason": "again", "confirm": "on"}).status_code == 409