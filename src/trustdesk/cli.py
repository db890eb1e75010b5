"""The `trustdesk` command. Settings come from TRUSTDESK_* environment variables."""

from __future__ import annotations

import gc
from enum import StrEnum
import secrets
import threading
from datetime import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import orjson
import typer
import uvicorn
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from trustdesk.analysis.runs import analyse, analysers_for
from trustdesk.analysis.signals import signals_of
from trustdesk.analysis.text.commands import analyze_app, models_app
from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.auth import api_clients, staff
from trustdesk.cases.access import Reviewer
from trustdesk.cases.queues import seed_queues
from trustdesk.replies.templates import seed_reply_templates
from trustdesk.config import DSA_SANDBOX_TOKEN, ConfigError, Settings, load_settings
from trustdesk.delivery import endpoints
from trustdesk.delivery.signing import SecretBox
from trustdesk.demo import deliveries as demo_deliveries
from trustdesk.demo.seed import DemoSize, seed_demo
from trustdesk.domain.errors import FieldError
from trustdesk.domain.hash_banks import DEFAULT_PDQ_THRESHOLD, BadLine, BankKind, BankSpec, parse_list
from trustdesk.domain.text_banks import TextBankKind, TextBankSpec, entry, parse_lines
from trustdesk.domain.legal_holds import HoldBasis, HoldSpec
from trustdesk.domain.roles import EVIDENCE_KEEPERS
from trustdesk.domain.vocabulary import HashAlgorithm, Role, Scope
from trustdesk.evidence import holds as evidence_holds
from trustdesk.evidence import package as evidence_package
from trustdesk.ncmec import reports as ncmec_reports
from trustdesk.ncmec import schema as ncmec_schema
from trustdesk.hash_banks import banks as hash_banks
from trustdesk.ingest import media
from trustdesk.ingest.bulk_import import RecordTypeName, import_file
from trustdesk.ingest.intake import Submitter
from trustdesk.jobs.worker import run_worker
from trustdesk.logs import configure_logging
from trustdesk.notices import notice
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import current_policies, seed_catalogue
from trustdesk.rules import versions as rule_versions
from trustdesk.rules.backtest import backtest, parse_since
from trustdesk.domain.rules import RuleMode
from trustdesk.dsa import submission, transparency
from trustdesk.dsa.period import parse_period
from trustdesk.sandbox.dsa import run_dsa
from trustdesk.sandbox.host import parse_endpoint_option, run_host
from trustdesk.sandbox.ncmec import run_ncmec
from trustdesk.search import identifier_index
from trustdesk.store import counters, migrate
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.database import Database
from trustdesk.store.models import App, StaffUser, Subject, utcnow
from trustdesk.text_banks import banks as text_banks
from trustdesk.web.app import create_app

app = typer.Typer(help="TrustDesk: Trust & Safety operations.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Staff users.", no_args_is_help=True)
clients_app = typer.Typer(help="API clients of the host platform.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
policies_app = typer.Typer(help="The policy catalogue.", no_args_is_help=True)
sandbox_app = typer.Typer(help="Sandboxes of outside services, for the demo and the tests.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook endpoints: where the host platform hears of actions.", no_args_is_help=True)
search_app = typer.Typer(help="The search index.", no_args_is_help=True)
notices_app = typer.Typer(help="Notices to the people decisions concern.", no_args_is_help=True)
hashes_app = typer.Typer(help="Hash banks: known-bad media, matched by PDQ, MD5 and SHA-256.", no_args_is_help=True)
rules_app = typer.Typer(help="Rules: CEL conditions with effects, versioned, live, in shadow or disabled.", no_args_is_help=True)
dsa_app = typer.Typer(help="DSA: statements of reasons to the Transparency Database, the transparency report.", no_args_is_help=True)
textbanks_app = typer.Typer(help="Text banks: keyword, phrase and regex lists that rules name.", no_args_is_help=True)
evidence_app = typer.Typer(help="Legal holds: evidence packages with their chain of custody.", no_args_is_help=True)
ncmec_app = typer.Typer(help="NCMEC CyberTipline reports: a case's draft, and NCMEC's schema.", no_args_is_help=True)
for sub, name in ((db_app, "db"), (users_app, "users"), (clients_app, "clients"), (audit_app, "audit"), (policies_app, "policies"),
                  (webhooks_app, "webhooks"), (search_app, "search"), (notices_app, "notices"), (hashes_app, "hashes"),
                  (rules_app, "rules"), (textbanks_app, "textbanks"), (dsa_app, "dsa"), (evidence_app, "evidence"), (ncmec_app, "ncmec")):
    app.add_typer(sub, name=name)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(analyze_app, name="analyze")
app.add_typer(models_app, name="models")

console = Console(soft_wrap=True)  # paths and messages stay whole, whatever the terminal width
CLI_ACTOR = Actor("cli", "operator")
CHECKPOINT_SECONDS = 0.25  # how often a long-running process checkpoints a SQLite WAL


@contextmanager
def _refusals_exit() -> Iterator[None]:
    """A refusal (an error naming what to fix) is printed in red and ends the command with status 2."""
    try:
        yield
    except FieldError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc


def _settings() -> Settings:
    try:
        settings = load_settings()
        settings.check()
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
    personal_data.configure(settings.secret_key)
    return settings


def open_database(settings: Settings, *, long_running: bool = False) -> Database:
    """The database; a long-running process (the server, a worker) checkpoints SQLite's WAL
    from a thread of its own, out of its commits."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database(settings.effective_database_url, info=settings.session_info, checkpoint_every=CHECKPOINT_SECONDS if long_running else None)


def _app(session: Session, slug: str) -> App:
    return ensure_app(session, CLI_ACTOR, slug, slug.replace("-", " ").title())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema, add missing catalogue policies and bring those nobody edited
    up to date, and find the type of media stored before types came from the bytes."""
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings)
    with migrate.one_at_a_time(settings.effective_database_url):  # another host may be upgrading now
        # Rows received before the identifier index existed get their digests once, right after it is made.
        index_is_new = not inspect(db.engine).has_table("identifier_digests")
        migrate.upgrade(settings.effective_database_url)
        with db.session() as session:
            policies = seed_catalogue(session, CLI_ACTOR)
            queues = seed_queues(session, CLI_ACTOR)
            templates = seed_reply_templates(session, CLI_ACTOR)
            checked = media.check_unchecked(session, CLI_ACTOR, FileBlobStore(settings.blob_dir))
            indexed = identifier_index.rebuild(session) if index_is_new else 0
    console.print(
        f"schema is current; {policies.added} catalogue policies, {queues} starter queues and {templates} reply templates added, "
        f"{policies.updated} catalogue policies brought up to date; {checked} media items checked"
        + (f"; {indexed} personal identifiers indexed for search" if index_is_new else "")
    )
    if policies.kept:
        console.print(f"kept as your admins edited them (the catalogue has newer text or trees): {', '.join(policies.kept)}")


@db_app.command("counters")
def db_counters(repair: Annotated[bool, typer.Option("--repair", help="Rewrite the counts from a fresh count.")] = False) -> None:
    """Compare the console's maintained counts with a fresh count of the tables; exit 1 on a difference."""
    db = open_database(_settings())
    if repair:
        with db.session() as session:
            drifts = counters.repair(session)
    else:
        with db.reader() as session:
            counters.consistent_snapshot(session)
            drifts = counters.check(session)
    for drift in drifts:
        console.print(f"{drift.table} {drift.key} {drift.column}: kept {drift.stored:,}, counted {drift.counted:,}", markup=False)
    if not drifts:
        console.print("[green]counts agree[/green] with the tables")
    elif repair:
        console.print(f"[yellow]repaired[/yellow] {len(drifts)} counts")
    else:
        console.print(f"[red]{len(drifts)} counts differ[/red]; run `trustdesk db counters --repair`")
        raise typer.Exit(1)


@search_app.command("reindex")
def search_reindex() -> None:
    """Write the search digests of every stored email, phone and account identifier again (after
    the secret key changed, or for data written around TrustDesk)."""
    db = open_database(_settings())
    with db.session() as session:
        written = identifier_index.rebuild(session)
    console.print(f"{written} personal identifiers indexed for search")


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[list[Role], typer.Option("--role", help="Repeat for several roles.")],
    display_name: Annotated[str | None, typer.Option()] = None,
    password: Annotated[str | None, typer.Option(help="Omit to generate one.")] = None,
    language: Annotated[list[str] | None, typer.Option("--language", help="Language skill, e.g. es.")] = None,
    totp: Annotated[bool | None, typer.Option("--totp/--no-totp", help="Default: required roles get one.")] = None,
) -> None:
    """Create a staff user and print its password (and TOTP enrolment URI) once."""
    settings = _settings()
    chosen = password or secrets.token_urlsafe(12)
    with open_database(settings).session() as session:
        with _refusals_exit():
            user = staff.create_user(
                session, CLI_ACTOR, settings, username=username, password=chosen, roles=role,
                display_name=display_name, skills={"languages": language or []}, with_totp=totp,
            )
        uri = staff.totp_uri(user)
    console.print(f"created {username} ({', '.join(r.value for r in role)})")
    if not password:
        console.print(f"password: {chosen}")
    if uri:
        console.print(f"TOTP enrolment (add to an authenticator app): {uri}")


def _user_named(session: Session, username: str) -> StaffUser:
    user = session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
    if user is None:
        console.print(f"[red]username: no staff user {username!r}[/red]")
        raise typer.Exit(2)
    return user


@users_app.command("token")
def users_token(username: str, name: Annotated[str, typer.Option(help="What the token is for.")] = "automation") -> None:
    """Issue a personal API token that acts with the user's roles; printed once."""
    settings = _settings()
    with open_database(settings).session() as session:
        _client, token = api_clients.create_staff_token(session, CLI_ACTOR, _user_named(session, username), name)
    console.print(f"token for {username} (shown once): {token}")


@users_app.command("deactivate")
def users_deactivate(username: str) -> None:
    """Stop a staff user signing in: their sessions and personal tokens end at once."""
    with open_database(_settings()).session() as session:
        staff.set_active(session, CLI_ACTOR, _user_named(session, username), False)
    console.print(f"{username} is deactivated; their sessions and personal tokens no longer work")


@users_app.command("reactivate")
def users_reactivate(username: str) -> None:
    """Let a deactivated staff user sign in again (old personal tokens stay revoked)."""
    with open_database(_settings()).session() as session:
        staff.set_active(session, CLI_ACTOR, _user_named(session, username), True)
    console.print(f"{username} may sign in again")


@clients_app.command("list")
def clients_list() -> None:
    """Show every API client and personal token: name, prefix, what it is for, and whether revoked."""
    with open_database(_settings()).reader() as session:
        table = Table("name", "for", "scopes", "created", "revoked")
        table.add_column("prefix", no_wrap=True)  # what `clients revoke` takes: never broken over lines
        for client, slug, username in api_clients.listing(session):
            table.add_row(client.name, f"app {slug}" if slug else f"staff {username}", ", ".join(client.scopes),
                          f"{client.created_at:%Y-%m-%d}", f"{client.revoked_at:%Y-%m-%d %H:%M}" if client.revoked_at else "",
                          client.token_prefix)
    console.print(table)


@clients_app.command("revoke")
def clients_revoke(name_or_prefix: Annotated[str, typer.Argument(help="The client's name, or its token prefix (td_PREFIX_…).")]) -> None:
    """Revoke an API client's token (or a personal token); it stops working at once."""
    with open_database(_settings()).session() as session:
        found = api_clients.matching(session, name_or_prefix)
        if len(found) != 1:
            problem = "no live client" if not found else f"{len(found)} live clients ({', '.join(c.token_prefix for c in found)})"
            console.print(f"[red]name_or_prefix: {problem} match {name_or_prefix!r}; give the token prefix[/red]")
            raise typer.Exit(2)
        api_clients.revoke(session, CLI_ACTOR, found[0])
    console.print(f"revoked {found[0].name} (td_{found[0].token_prefix}_…)")


@clients_app.command("create")
def clients_create(
    name: str,
    app_slug: Annotated[str, typer.Option("--app", help="The app this client submits for.")],
    scope: Annotated[list[Scope] | None, typer.Option("--scope", help="Default: all intake scopes.")] = None,
) -> None:
    """Create an API client for the host platform and print its token once."""
    settings = _settings()
    with open_database(settings).session() as session:
        target = _app(session, app_slug)
        _client, token = api_clients.create_client(session, CLI_ACTOR, target, name, scope or list(Scope))
    console.print(f"token for {name} (shown once; store it in the host platform's secrets): {token}")


@webhooks_app.command("add")
def webhooks_add(
    app_slug: Annotated[str, typer.Argument(metavar="APP", help="The app whose action events go there.")],
    url: Annotated[str, typer.Argument(help="https (in development also http to this machine).")],
) -> None:
    """Deliver an app's action events to URL; prints the signing secret once."""
    settings = _settings()
    with _refusals_exit():
        with open_database(settings).session() as session:
            endpoint, secret = endpoints.add_endpoint(
                session, CLI_ACTOR, SecretBox(settings.secret_key), endpoints.app_named(session, app_slug), url,
                production=settings.is_production,
            )
    console.print(f"endpoint {endpoint.id} for {app_slug}: {endpoint.url}", markup=False)
    console.print(f"signing secret (shown once; store it in the receiver): {secret}", markup=False, soft_wrap=True)


@webhooks_app.command("list")
def webhooks_list() -> None:
    """Show every active endpoint and how many of its deliveries are in each state."""
    with open_database(_settings()).reader() as session:
        table = Table("id", "app", "url", "deliveries", "added")
        for view in endpoints.listing(session):
            counts = ", ".join(f"{state} {count}" for state, count in sorted(view.counts.items())) or "none yet"
            table.add_row(str(view.id), view.app, view.url, counts, f"{view.created_at:%Y-%m-%d %H:%M} by {view.created_by}")
    console.print(table)


@webhooks_app.command("remove")
def webhooks_remove(endpoint_id: Annotated[int, typer.Argument(help="The id `webhooks list` shows.")]) -> None:
    """Stop delivering to an endpoint; deliveries still waiting for it are cancelled."""
    with _refusals_exit():
        with open_database(_settings()).session() as session:
            cancelled = endpoints.remove_endpoint(session, CLI_ACTOR, endpoint_id)
    console.print(f"endpoint {endpoint_id} removed; {cancelled} waiting deliveries cancelled")


@notices_app.command("channel")
def notices_channel(
    app_slug: Annotated[str, typer.Argument(metavar="APP", help="The app whose notices this is about.")],
    channel: Annotated[str, typer.Argument(help="webhook: the host platform sends them (notice.requested); smtp: mailed from here.")],
) -> None:
    """Choose how an app's notices leave."""
    with _refusals_exit():
        with open_database(_settings()).session() as session:
            notice.set_channel(session, CLI_ACTOR, endpoints.app_named(session, app_slug), channel)
    console.print(f"notices of {app_slug} go by {channel}")


AlgorithmOption = Annotated[
    HashAlgorithm | None, typer.Option("--algorithm", help="The hashes' algorithm where lines do not say (needed for 64 hex characters).")
]


@hashes_app.command("create")
def hashes_create(
    name: Annotated[str, typer.Argument(help="The bank's name, used by `hashes import`.")],
    kind: Annotated[BankKind, typer.Option(help="What the bank holds.")],
    threshold: Annotated[int, typer.Option(help="PDQ match threshold (Hamming distance).")] = DEFAULT_PDQ_THRESHOLD,
    policy: Annotated[str | None, typer.Option(help="The policy a match breaks (with --action).")] = None,
    action: Annotated[str | None, typer.Option(help="The action a match calls for; without it, matches go to review.")] = None,
    description: Annotated[str, typer.Option(help="Where the list comes from, who maintains it.")] = "",
) -> None:
    """Create a hash bank."""
    with _refusals_exit():
        with open_database(_settings()).session() as session:
            bank = hash_banks.create_bank(session, CLI_ACTOR, BankSpec(name, kind.value, description, threshold, policy, action))
    console.print(f"bank {bank.id} {bank.name!r} created", markup=False)


@hashes_app.command("update")
def hashes_update(
    name: Annotated[str, typer.Argument(help="The bank's name.")],
    threshold: Annotated[int | None, typer.Option(help="PDQ match threshold (Hamming distance).")] = None,
    policy: Annotated[str | None, typer.Option(help="The policy a match breaks (with --action).")] = None,
    action: Annotated[str | None, typer.Option(help="The action a match calls for.")] = None,
    review_only: Annotated[bool, typer.Option("--review-only", help="Matches go to review: no policy, no action.")] = False,
    active: Annotated[bool | None, typer.Option("--active/--inactive", help="An inactive bank is not matched.")] = None,
) -> None:
    """Change a bank's threshold, action or state; every process applies it within a second."""
    with _refusals_exit():
        with open_database(_settings()).session() as session:
            bank = hash_banks.bank_named(session, name)
            keep_action = not review_only and policy is None and action is None
            spec = BankSpec(bank.name, bank.kind, bank.description, bank.pdq_threshold if threshold is None else threshold,
                            bank.policy_code if keep_action else policy, bank.action if keep_action else action)
            hash_banks.update_bank(session, CLI_ACTOR, bank, spec, active=bank.active if active is None else active)
    console.print(f"bank {name!r} updated", markup=False)


@hashes_app.command("import")
def hashes_import(
    bank: Annotated[str, typer.Argument(metavar="BANK", help="The bank's name.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="One hash per line, or CSV: algorithm,value[,note].")],
    algorithm: AlgorithmOption = None,
) -> None:
    """Add a list of hashes to a bank; hashes already there are left alone, bad lines are named by
    number (and make the exit status 1) while the good ones are imported."""
    parsed = parse_list(file.read_text(encoding="utf-8", errors="replace"), algorithm)
    with _refusals_exit():
        with open_database(_settings()).session() as session:
            added = hash_banks.add_hashes(session, CLI_ACTOR, hash_banks.bank_named(session, bank), parsed.entries,
                                          source=f"file:{file.name}")
    _imported("hashes", bank, added, len(parsed.entries), parsed.bad)


def _imported(noun: str, bank: str, added: int, good: int, bad: list[BadLine]) -> None:
    """Say what an import added and which lines were bad (the first 50); bad lines end with status 1."""
    console.print(f"{added} {noun} added to {bank}, {good - added} already there, {len(bad)} bad lines", markup=False)
    for line in bad[:50]:
        console.print(f"line {line.line}: {line.message}", markup=False, highlight=False)
    if len(bad) > 50:
        console.print(f"… and {len(bad) - 50} more bad lines", markup=False)
    if bad:
        raise typer.Exit(1)


@hashes_app.command("remove")
def hashes_remove(
    bank: Annotated[str, typer.Argument(metavar="BANK", help="The bank's name.")],
    value: Annotated[str, typer.Argument(help="The hash, in hex.")],
    algorithm: AlgorithmOption = None,
) -> None:
    """Take a hash out of a bank (every worker stops matching it within a second)."""
    with _refusals_exit():
        with open_database(_settings()).session() as session:
            hash_banks.remove_hash(session, CLI_ACTOR, hash_banks.bank_named(session, bank), value, algorithm)
    console.print(f"removed from {bank}", markup=False)


@hashes_app.command("banks")
def hashes_banks() -> None:
    """List the banks with their live hashes per algorithm, threshold and action."""
    with open_database(_settings()).reader() as session:
        table = Table("name", "kind", "active", "pdq", "md5", "sha256", "threshold", "on a match")
        for summary in hash_banks.list_banks(session):
            bank = summary.bank
            table.add_row(bank.name, bank.kind, "yes" if bank.active else "no",
                          *(str(summary.counts.get(a, 0)) for a in ("pdq", "md5", "sha256")), str(bank.pdq_threshold),
                          f"{bank.action} ({bank.policy_code})" if bank.action else "review only")
    console.print(table)


@rules_app.command("sync")
def rules_sync(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="One NAME.toml per rule.")],
) -> None:
    """Make the rules match a directory: a file changed since the last sync is a new version, a
    rule whose file is gone is disabled (never deleted), a change made outside an unchanged file is
    kept. A bad file refuses the whole sync, naming file and field."""
    with _refusals_exit():
        with open_database(_settings()).session() as session:
            report = rule_versions.sync_directory(session, CLI_ACTOR, directory)
    for outcome, names in report.items():
        console.print(f"{outcome}: {', '.join(names) if names else '-'}", markup=False)


@rules_app.command("list")
def rules_list() -> None:
    """The rules with their current version and mode."""
    with open_database(_settings()).reader() as session:
        table = Table("name", "version", "mode", "source", "effects", "expression")
        for rule, version in rule_versions.current_versions(session):
            effects = ", ".join(e["type"] for e in version.effects) or "none"
            table.add_row(rule.name, str(version.version), version.mode, version.source, effects, version.expression)
    console.print(table)


@rules_app.command("mode")
def rules_mode(
    name: Annotated[str, typer.Argument(help="The rule's name.")],
    mode: Annotated[RuleMode, typer.Argument(help="live, shadow or disabled.")],
) -> None:
    """Put a rule live, in shadow (evaluated and recorded, no effect) or disable it: a new version."""
    with _refusals_exit():
        with open_database(_settings()).session() as session:
            saved = rule_versions.set_mode(session, CLI_ACTOR, name, mode, source="cli")
    console.print(f"{name} is {mode.value} (version {saved.version.version})", markup=False)


@rules_app.command("backtest")
def rules_backtest(
    name: Annotated[str, typer.Argument(metavar="RULE", help="The rule's name.")],
    since: Annotated[str, typer.Option(help="The period's start: 30d, 12h, 90m or an ISO date.")] = "30d",
    version: Annotated[int | None, typer.Option(help="A saved version; default: the current one.")] = None,
    file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="A changed rule file to try instead.")] = None,
) -> None:
    """Replay the period's stored events through the rule: what it would match, what that
    changes against what the live rule matched, and its precision against reviewers' decisions."""
    with _refusals_exit():
        draft = rule_versions.read_rule_file(file) if file else None
        with open_database(_settings()).reader() as session:
            now = utcnow()
            result = backtest(session, name, parse_since(since, now), now, version=version, draft=draft)
    tried = f"version {result.version}" if result.version else f"the draft in {file.name if file else ''}"
    objected = f", {result.objected} not replayed (their person restricted processing or objected)" if result.objected else ""
    console.print(f"{name}, {tried}: {result.replayed} events replayed since {result.since:%Y-%m-%d %H:%M} UTC, "
                  f"{result.errors} failed{objected}", markup=False)
    console.print(f"would match {len(result.matched)}; the live rule matched {len(result.recorded)}: "
                  f"{len(result.added)} more, {len(result.dropped)} fewer", markup=False)
    for label, precision in (("this version", result.precision), ("live", result.recorded_precision)):
        shown = f"{precision.value:.2f}" if precision.value is not None else "n/a"
        console.print(f"precision ({label}): {shown} ({precision.violations} of {precision.decided} decided subjects in violation)",
                      markup=False)
    for title, ids in (("more", result.added), ("fewer", result.dropped)):
        for evaluation_id in ids[:20]:
            console.print(f"  {title}: evaluation {evaluation_id}, subject {result.subjects[evaluation_id]}", markup=False)




@textbanks_app.command("create")
def textbanks_create(
    name: Annotated[str, typer.Argument(help="The name rules use: `'NAME' in text_banks`.")],
    kind: Annotated[TextBankKind, typer.Option(help="What its entries are.")],
    app_slug: Annotated[str | None, typer.Option("--app", help="The app it applies to; without it, every app.")] = None,
    language: Annotated[str | None, typer.Option(help="The language it applies to (pt covers pt-BR); without it, every one.")] = None,
    description: Annotated[str, typer.Option(help="What it catches, where its entries come from.")] = "",
) -> None:
    """Create a text bank."""
    with _refusals_exit():
        with open_database(_settings()).session() as session:
            bank = text_banks.create_bank(session, CLI_ACTOR, TextBankSpec(name, kind.value, app_slug, language, description))
    console.print(f"text bank {bank.id} {bank.name!r} created", markup=False)


@textbanks_app.command("import")
def textbanks_import(
    bank: Annotated[str, typer.Argument(metavar="BANK", help="The bank's name.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="One entry per line; `# ` starts a comment line.")],
    note: Annotated[str, typer.Option(help="A note kept with each entry, such as where the list comes from.")] = "",
) -> None:
    """Add a list to a bank; entries already there are left alone, bad lines are named by number
    (and make the exit status 1) while the good ones are imported."""
    text = file.read_text(encoding="utf-8", errors="replace")
    with _refusals_exit():
        with open_database(_settings()).session() as session:
            found = text_banks.bank_named(session, bank)
            parsed = parse_lines(found.kind, text, note)
            added = text_banks.add_entries(session, CLI_ACTOR, found, parsed.entries, source=f"file:{file.name}")
    _imported("entries", bank, added, len(parsed.entries), parsed.bad)


@textbanks_app.command("add")
def textbanks_add(
    bank: Annotated[str, typer.Argument(metavar="BANK", help="The bank's name.")],
    values: Annotated[list[str], typer.Argument(metavar="VALUE...", help="Keywords, phrases (quoted) or patterns.")],
    note: Annotated[str, typer.Option(help="A note kept with each entry.")] = "",
) -> None:
    """Add entries to a bank; every process matches them within a second."""
    with _refusals_exit():
        with open_database(_settings()).session() as session:
            found = text_banks.bank_named(session, bank)
            added = text_banks.add_entries(session, CLI_ACTOR, found, [entry(found.kind, v, note) for v in values], source="cli")
    console.print(f"{added} entries added to {bank}", markup=False)


@textbanks_app.command("remove")
def textbanks_remove(
    bank: Annotated[str, typer.Argument(metavar="BANK", help="The bank's name.")],
    value: Annotated[str, typer.Argument(help="The keyword, phrase or pattern.")],
) -> None:
    """Take an entry out of a bank (every process stops matching it within a second)."""
    with _refusals_exit():
        with open_database(_settings()).session() as session:
            text_banks.remove_entry(session, CLI_ACTOR, text_banks.bank_named(session, bank), value)
    console.print(f"removed from {bank}", markup=False)


@textbanks_app.command("list")
def textbanks_list() -> None:
    """List the text banks with their kind, scope, state and live entries."""
    with open_database(_settings()).reader() as session:
        table = Table("name", "kind", "app", "language", "active", "entries")
        for summary in text_banks.list_banks(session):
            bank = summary.bank
            table.add_row(bank.name, bank.kind, summary.app or "every app", bank.language or "every language",
                          "yes" if bank.active else "no", str(summary.entries))
    console.print(table)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the whole hash chain; name the first broken link."""
    settings = _settings()
    with open_database(settings).reader() as session:
        result = verify_chain(session)
    if result.ok:
        console.print(f"[green]audit chain intact[/green]: {result.blocks} blocks, {result.events} events")
        return
    console.print(f"[red]audit chain broken[/red] after {result.blocks} good blocks: {result.problem}")
    raise typer.Exit(1)


def _evidence_keeper(session: Session, by: str) -> Actor:
    """The staff member acting on evidence, who must hold the legal or the child-safety role."""
    user = _user_named(session, by)
    if not set(user.roles) & {r.value for r in EVIDENCE_KEEPERS}:
        raise FieldError("by", f"{by} holds neither the legal nor the child-safety role")
    return Actor("staff", user.username)


@evidence_app.command("hold")
def evidence_hold(
    subject: Annotated[list[str], typer.Option("--subject", help="The host platform's id of a subject; repeat for several.")],
    basis: Annotated[HoldBasis, typer.Option(help="ncmec_report: one year; law_enforcement_preservation: 90 days; manual: until released.")],
    reason: Annotated[str, typer.Option(help="Why: it goes on the hold's chain of custody.")],
    app_slug: Annotated[str, typer.Option("--app", help="The app the subjects belong to.")],
    by: Annotated[str, typer.Option(help="The legal or child-safety staff member placing it.")],
    reference: Annotated[str, typer.Option(help="The outside reference: the request's number, the matter.")] = "",
    review_on: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="A manual hold's review date (after today).")] = None,
) -> None:
    """Place a legal hold on subjects (an account's items with it) and snapshot their evidence."""
    db = open_database(_settings())
    with _refusals_exit(), db.session() as session:
        actor = _evidence_keeper(session, by)
        ids = evidence_holds.subjects_named(session, endpoints.app_named(session, app_slug).id, subject)
        spec = HoldSpec(basis.value, reason, reference, review_on.date() if review_on else None)
        hold = evidence_holds.place_hold(session, actor, ids, spec)
        held = evidence_holds.view(session, hold.id)
        until = f"until {hold.expires_at.date()}" if hold.expires_at else f"until released, reviewed on {hold.review_on}"
        said = f"[green]placed legal hold {hold.id}[/green]: {held.covered} subject(s), {len(held.items)} evidence item(s), held {until}"
    console.print(said, highlight=False)


@evidence_app.command("export")
def evidence_export(
    hold: Annotated[int, typer.Argument(help="The hold's id, as on its page.")],
    reason: Annotated[str, typer.Option(help="Why it is exported: it goes on the hold's chain of custody.")],
    out: Annotated[Path, typer.Option(help="The zip to write.", dir_okay=False)],
    by: Annotated[str, typer.Option(help="The legal or child-safety staff member exporting it.")],
) -> None:
    """Write a hold's evidence package: every item, a manifest of their SHA-256, the custody log."""
    settings = _settings()
    db = open_database(settings)
    with _refusals_exit():
        with db.reader() as session:
            keeper = _evidence_keeper(session, by)
        partial = out.with_name(out.name + ".partial")
        with partial.open("wb") as target:
            items = evidence_package.export(db, keeper, FileBlobStore(settings.blob_dir), hold, reason, target)
        partial.replace(out)
    console.print(f"[green]wrote {out}[/green]: {items} item(s), custody log included")


@evidence_app.command("verify")
def evidence_verify(package: Annotated[Path, typer.Argument(help="An evidence package (zip).", exists=True, dir_okay=False)]) -> None:
    """Check every item's hash and the custody chain of a package; name what is wrong (exit 1)."""
    check = evidence_package.verify(package)
    if check.ok:
        console.print(f"[green]evidence package intact[/green]: {check.items} items, {check.custody_events} custody events")
        return
    console.print(f"[red]evidence package broken[/red]: {len(check.problems)} problem(s)")
    for problem in check.problems:
        console.print(f"  {problem}", highlight=False, markup=False)
    raise typer.Exit(1)


@ncmec_app.command("build")
def ncmec_build(
    case: Annotated[int, typer.Argument(help="The child-safety case's id, as on its page.")],
    by: Annotated[str, typer.Option(help="The child-safety staff member building it.")],
    out: Annotated[Path, typer.Option(help="Where to write the report's XML.", dir_okay=False)],
) -> None:
    """Build (or rebuild) a decided child-safety case's draft report, as its console page does,
    write its XML and check it against NCMEC's schema (exit 1 if it does not validate)."""
    settings = _settings()
    with _refusals_exit(), open_database(settings).session() as session:
        user = _user_named(session, by)
        if Role.CHILD_SAFETY.value not in user.roles:
            raise FieldError("by", f"{by} does not hold the child-safety role")
        built = ncmec_reports.build(session, Actor("staff", user.username), Reviewer.of(user), case, settings.ncmec)
        xml, problems, incident = built.report.xml, built.problems, built.report.incident_type
    out.write_text(xml, encoding="utf-8")
    console.print(f"wrote the draft report of case {case} ({incident}) to {out}", highlight=False)
    _schema_check(problems)


@ncmec_app.command("validate")
def ncmec_validate(document: Annotated[Path, typer.Argument(help="An XML document.", exists=True, dir_okay=False)]) -> None:
    """Check a document against NCMEC's schema (`cyber_tipline.xsd`, shipped with TrustDesk)."""
    _schema_check(ncmec_schema.problems(document.read_bytes()))


def _schema_check(problems: list[str]) -> None:
    if not problems:
        console.print(f"[green]valid against {ncmec_schema.XSD_NAME}[/green]", highlight=False)
        return
    console.print(f"[red]not valid against {ncmec_schema.XSD_NAME}[/red]: {len(problems)} problem(s)", highlight=False)
    for problem in problems:
        console.print(f"  {problem}", highlight=False, markup=False)
    raise typer.Exit(1)


@policies_app.command("list")
def policies_list() -> None:
    """Show the current version of every policy."""
    with open_database(_settings()).reader() as session:
        table = Table("code", "v", "title", "severity", "DSA category", "NCMEC")
        for p in current_policies(session):
            table.add_row(p.code, str(p.version), p.title, str(p.severity), p.dsa_category.removeprefix("STATEMENT_CATEGORY_"), p.ncmec_incident_type or "")
    console.print(table)


@analyze_app.command("subject")
def analyze_subject(subject_id: Annotated[int, typer.Argument(help="The subject's id in TrustDesk (as on its page).")]) -> None:
    """Run every analyser on a subject now, store new signals and re-score and re-route its open case."""
    settings = _settings()
    db = open_database(settings)
    with db.session() as session:
        if session.get(Subject, subject_id) is None:
            console.print(f"[red]no subject {subject_id}[/red]")
            raise typer.Exit(1)
        fresh = analyse(session, CLI_ACTOR, [subject_id], analysers_for(db, FileBlobStore(settings.blob_dir)))[subject_id]
        table = Table("analyser", "label", "score", "match", "model version")
        for s in signals_of(session, subject_id):
            table.add_row(s.analyser, s.label, "" if s.score is None else f"{s.score:.3f}", s.match or "", s.model_version)
    console.print(table)
    console.print(f"{fresh} new signal(s)")


@app.command("worker")
def worker(
    worker_id: Annotated[str, typer.Option()] = "",
    poll_seconds: Annotated[float, typer.Option(min=0.01, max=60, help="How long an idle worker waits before looking for jobs again.")] = 1.0,
) -> None:
    """Run background jobs until interrupted."""
    settings = _settings()
    configure_logging(settings.log_json)
    tune_garbage_collector()
    run_worker(open_database(settings, long_running=True), settings, worker_id=worker_id or f"worker-{secrets.token_hex(3)}", poll_seconds=poll_seconds)


def tune_garbage_collector() -> None:
    """A batch of 1,000 reports makes many short-lived objects; with the default thresholds the
    cyclic collector keeps rescanning the long-lived ones (measured: every other batch 40%
    slower). Freeze what startup made and collect the young generation less often."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    with_worker: Annotated[bool, typer.Option("--with-worker/--no-worker", help="Run a worker in this process too.")] = True,
) -> None:
    """Serve the API and console (one process); on SQLite, the worker runs beside it."""
    settings = _settings()
    configure_logging(settings.log_json)
    db = open_database(settings, long_running=True)
    tune_garbage_collector()
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(db, settings), kwargs={"worker_id": "serve-worker", "stop_event": stop}, daemon=True)
    if with_worker:
        worker.start()
    try:
        # The app reads X-Forwarded-For itself, from TRUSTDESK_TRUSTED_PROXIES only; uvicorn's own
        # handling would believe any local connection's header.
        uvicorn.run(create_app(settings, db), host=host, port=port, log_config=None, access_log=False, proxy_headers=False)
    finally:
        # The worker finishes the job it is running before the process ends; then the database's
        # connections and its checkpointing thread are closed.
        stop.set()
        if worker.is_alive():
            worker.join(timeout=30)
        db.dispose()


@app.command("demo")
def demo(
    size: Annotated[DemoSize, typer.Option(help="large adds 1,000,000 benchmark reports to the small set.")] = DemoSize.SMALL,
) -> None:
    """Fill a fresh database with two demo apps, staff and review queues; print logins and API tokens."""
    settings = _settings()
    db = open_database(settings)
    with db.session() as session:
        seed_catalogue(session, CLI_ACTOR)
        seed_queues(session, CLI_ACTOR)
        seed_reply_templates(session, CLI_ACTOR)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        summary = seed_demo(db, settings, size=size, progress=advance)
    sandbox_urls = demo_deliveries.connect_sandbox(db, settings)
    examples = demo_deliveries.decide_examples(db)
    counts = Table("app", "what", "count", title="demo data" + (" (already there)" if summary.already_seeded else ""))
    for slug, kinds in summary.subjects.items():
        for kind, count in kinds.items():
            counts.add_row(slug, kind, f"{count:,}")
        counts.add_row(slug, "reports", f"{summary.reports.get(slug, 0):,}")
        counts.add_row(slug, "account events", f"{summary.account_events.get(slug, 0):,}")
    counts.add_row("", "media files", f"{summary.media_files:,}")
    console.print(counts)
    logins = Table("username", "password", "roles", "languages", title="staff logins")
    for member in summary.staff:
        logins.add_row(member.username, member.password, ", ".join(member.roles), ", ".join(member.languages))
    console.print(logins)
    for slug, token in summary.tokens.items():
        console.print(f"API token for {slug} (shown once): {token}", soft_wrap=True)
    for note in summary.notes:
        console.print(note, markup=False)
    for url in sandbox_urls:
        console.print(f"Actions are delivered to {url} (start `trustdesk sandbox host --demo` to receive them)", markup=False)
    if examples:
        console.print(f"{examples} cases were decided as examples: their actions appear in the sandbox once the worker runs")
    console.print(f"Console: http://127.0.0.1:8000 (log in with a staff login above); host-platform sandbox: http://127.0.0.1:{demo_deliveries.SANDBOX_PORT}/")
    console.print("Statements of reasons go to the DSA sandbox (`trustdesk sandbox dsa`, port 8901) every five minutes, or now with `trustdesk dsa submit`",
                  markup=False)


@sandbox_app.command("host")
def sandbox_host(
    port: Annotated[int, typer.Option()] = 8900,
    host: Annotated[str, typer.Option(help="Address to bind; control routes and page answer loopback only.")] = "127.0.0.1",
    endpoint: Annotated[list[str] | None, typer.Option("--endpoint", help="NAME=whsec_SECRET; repeat for more.")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Add the endpoints `trustdesk demo` delivers to (dating, market).")] = False,
) -> None:
    """Receive action webhooks as the host platform would: verify, drop repeats, show them, fail on demand."""
    try:
        hooks = [parse_endpoint_option(option) for option in endpoint or []]
    except ValueError as exc:
        console.print(f"[red]--endpoint:[/red] {exc}")
        raise typer.Exit(2) from exc
    run_host(host, port, (list(demo_deliveries.DEMO_SECRETS.items()) if demo else []) + hooks)


@sandbox_app.command("dsa")
def sandbox_dsa(
    port: Annotated[int, typer.Option()] = 8901,
    host: Annotated[str, typer.Option(help="Address to bind; the control route answers loopback only.")] = "127.0.0.1",
    token: Annotated[str, typer.Option(help="The Bearer token submissions must carry.")] = DSA_SANDBOX_TOKEN,
) -> None:
    """Take statements of reasons as the DSA Transparency Database does: its rules, 422 for a
    broken one or a repeated puid, batches of up to 100, a Bearer token."""
    run_dsa(host, port, token)


@dsa_app.command("export")
def dsa_export(
    since: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")],
    out: Annotated[Path, typer.Option(dir_okay=False, help="The JSON lines file to write.")],
    until: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default: today).")] = None,
) -> None:
    """Write the statements of reasons stored in the period as JSON lines, each the Transparency
    Database's object verbatim."""
    with _refusals_exit():
        period = parse_period(since, until, utcnow().date())
    written = 0
    with open_database(_settings()).reader() as session, out.open("wb") as file:
        for body in submission.exported(session, period):
            file.write(orjson.dumps(body) + b"\n")
            written += 1
    console.print(f"{written} statements of reasons ({period.label}) written to {out}", markup=False)


@dsa_app.command("submit")
def dsa_submit() -> None:
    """Submit the statements of reasons not yet submitted to the Transparency Database
    (TRUSTDESK_DSA_URL and TRUSTDESK_DSA_TOKEN; outside production, the local sandbox by default)."""
    settings = _settings()
    target = settings.dsa_target
    if target is None:
        console.print("[red]set TRUSTDESK_DSA_URL and TRUSTDESK_DSA_TOKEN to submit in production[/red]")
        raise typer.Exit(2)
    try:
        tally = submission.submit_pending(open_database(settings), submission.Target(*target), actor=CLI_ACTOR)
    except submission.SubmissionError as exc:
        console.print(str(exc), style="red", markup=False)
        raise typer.Exit(1) from exc
    console.print(f"{tally.accepted} accepted, {tally.already_there} already there, {tally.refused} refused", markup=False)
    for puid, errors in tally.errors.items():
        console.print(f"refused {puid}: " + "; ".join(f"{f}: {' '.join(m)}" for f, m in errors.items()), markup=False)
    if tally.refused:
        raise typer.Exit(1)


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


@dsa_app.command("transparency")
def dsa_transparency(
    since: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")],
    until: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default: today).")] = None,
    output: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.JSON,
) -> None:
    """Print the transparency report (DSA Art. 15/24) of the period as JSON or CSV."""
    with _refusals_exit():
        period = parse_period(since, until, utcnow().date())
    with open_database(_settings()).reader() as session:
        report = transparency.transparency_report(session, period)
    text = transparency.as_csv(report) if output is ReportFormat.CSV else orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode()
    typer.echo(text.rstrip("\n"))


@sandbox_app.command("ncmec")
def sandbox_ncmec(
    port: Annotated[int, typer.Option()] = 8910,
    host: Annotated[str, typer.Option(help="Address to bind; control routes answer loopback only.")] = "127.0.0.1",
    username: Annotated[str, typer.Option(help="The HTTP Basic user it accepts (TRUSTDESK_NCMEC_USERNAME's default).")] = "trustdesk",
    password: Annotated[str, typer.Option(help="The HTTP Basic password it accepts.")] = "sandbox",
) -> None:
    """Serve NCMEC's CyberTipline protocol at /ispws: XSD validation, report states, the error codes."""
    run_ncmec(host, port, username, password)


@app.command("import")
def import_records(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A .jsonl, .ndjson or .csv file.")],
    app_slug: Annotated[str, typer.Option("--app", help="The app the records belong to.")],
    record_type: Annotated[RecordTypeName | None, typer.Option("--type", help="For records without a type field or column.")] = None,
    rejects: Annotated[Path | None, typer.Option("--rejects", help="Default: FILE.rejects.jsonl beside the file.")] = None,
    resume: Annotated[bool, typer.Option("--resume/--no-resume", help="Continue an interrupted import of the unchanged file.")] = True,
) -> None:
    """Import subjects, reports and account events; bad lines go to a rejects file and the rest goes on."""
    settings = _settings()
    db = open_database(settings)
    with db.session() as session:
        app_id = _app(session, app_slug).id
    submitter = Submitter(app_id, Actor("import", file.name), media_allow_list=settings.media_url_allow_list)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task(f"importing {file.name}", total=None)
            summary = import_file(
                db, file, submitter, rejects_path=rejects, default_type=record_type, resume=resume,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except ValueError as exc:  # the file's format or CSV header cannot be used
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    table = Table("type", "created", "existing", "rejected", title=f"{file.name} into {app_slug}")
    for kind, tally in [*summary.by_type.items(), ("total", summary.total())]:
        table.add_row(kind, str(tally.created), str(tally.existing), str(tally.rejected))
    console.print(table)
    resumed = f", resumed after line {summary.resumed_from_line}" if summary.resumed_from_line else ""
    console.print(f"{summary.lines} lines read{resumed}; rejected lines are in {summary.rejects_path}")
    if summary.total().rejected:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
