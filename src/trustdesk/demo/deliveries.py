"""The demo's host platform: both demo apps deliver to the sandbox host on this machine, and a
few cases are decided at once, so a new user sees actions arrive there as soon as the worker runs.

The secrets are fixed and public, which is right for a demo on one's own machine and never
for anything else: `trustdesk sandbox host --demo` knows them too.
"""

from __future__ import annotations

import base64

from sqlalchemy import select

from trustdesk.config import Settings
from trustdesk.delivery.endpoints import add_endpoint, app_named
from trustdesk.delivery.signing import SecretBox
from trustdesk.demo.seed import DATING, DEMO_ACTOR, MARKET
from trustdesk.domain.policies import Action
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject
from trustdesk.policy_versions import spec_of
from trustdesk.store.database import Database
from trustdesk.store.models import App, Case, Decision, Policy, WebhookEndpoint

SANDBOX_PORT = 8900
DEMO_SECRETS = {
    slug: "whsec_" + base64.b64encode(f"{slug} demo webhook secret, public".encode()).decode() for slug in (DATING, MARKET)
}
EXAMPLES_PER_APP = 2
# Mild actions first: the examples show delivery, not the harshest sanction a policy allows.
_EXAMPLE_ACTIONS = (Action.REMOVE, Action.RESTRICT_VISIBILITY, Action.WARN)


def sandbox_url(slug: str, port: int = SANDBOX_PORT) -> str:
    return f"http://127.0.0.1:{port}/hooks/{slug}"


def connect_sandbox(db: Database, settings: Settings) -> list[str]:
    """Give each demo app an endpoint at the sandbox (unless it has one); returns the URLs added."""
    added = []
    with db.session() as session:
        for slug, secret in DEMO_SECRETS.items():
            app = app_named(session, slug)
            url = sandbox_url(slug)
            if session.execute(select(WebhookEndpoint.id).where(WebhookEndpoint.app_id == app.id, WebhookEndpoint.url == url,
                                                                WebhookEndpoint.active.is_(True))).first():
                continue
            add_endpoint(session, DEMO_ACTOR, SecretBox(settings.secret_key), app, url, production=settings.is_production, secret=secret)
            added.append(url)
    return added


def decide_examples(db: Database) -> int:
    """Decide the oldest open cases of each app (once: not when anything is decided already)."""
    decided = 0
    with db.session() as session:
        if session.execute(select(Decision.id).limit(1)).first():
            return 0
        for slug in DEMO_SECRETS:
            cases = session.execute(
                select(Case).join(App, App.id == Case.app_id).where(App.slug == slug, Case.status == "open")
                .order_by(Case.id).limit(EXAMPLES_PER_APP)
            ).scalars().all()
            for case in cases:
                policy = session.execute(select(Policy).where(Policy.code == case.policy_code, Policy.is_current.is_(True))).scalar_one()
                allowed = spec_of(policy).allowed_actions
                action = next((a for a in _EXAMPLE_ACTIONS if a in allowed), None)
                if action is None:
                    continue
                request = DecisionRequest(case.policy_code, verdict="violation", actions=[action.value],
                                          rationale="Decided by the demo set-up, to show delivery to the host platform.")
                decide_subject(session, DEMO_ACTOR, case.subject_id, request)
                decided += 1
    return decided
