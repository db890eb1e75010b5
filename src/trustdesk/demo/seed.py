"""The demo data set behind `trustdesk demo`: a dating app and a marketplace with a live queue.

One seeded `random.Random` draws everything, so two runs build the same subjects, and every
write goes through the intake services in batches of at most 1,000, as an API client's would,
so the audit log is the real one and its chain verifies. Among the ordinary users sit scripted
cases (a romance-scam ring sharing devices and photos, a counterfeit cluster, harassment,
hate, spam, impersonation, underage users, two imminent-harm reports) that exist at any scale,
so reviewers always have true positives to find among the false reports.

The reports arrive as on a working day: most during the last hours, some in the days before
(each batch filed at its arrival time), so cases have different ages, their SLA timers differ,
and the oldest are past their SLA, recorded as the SLA sweep records it.
"""

from __future__ import annotations

import hashlib
import io
import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import groupby
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients, staff
from trustdesk.canned_rationales import add_rationale
from trustdesk.cases import sla
from trustdesk.config import Settings
from trustdesk.demo import content
from trustdesk.demo.content import LANGUAGES, PLACES, Place, Product
from trustdesk.demo.images import render_photo
from trustdesk.domain.policies import catalogue_by_code
from trustdesk.domain.vocabulary import (
    AccountEventKind,
    ReporterType,
    Role,
    Scope,
    SubjectKind,
)
from trustdesk.ingest import intake, media
from trustdesk.ingest.schemas import AccountEventIn, DsaNotice, ReportIn, SubjectIn
from trustdesk.organisation import ensure_app
from trustdesk.rules.versions import sync_directory
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.database import Database
from trustdesk.store.models import (
    AccountEvent,
    App,
    Blob,
    Report,
    StaffUser,
    Subject,
    utcnow,
)

Progress = Callable[[str, int, int], None]
Item = TypeVar("Item", SubjectIn, AccountEventIn, ReportIn)

SEED = 20240901
BATCH = 1000
# Reports arriving within the same quarter of an hour are filed together, at the last one's time.
ARRIVAL_WINDOW_SECONDS = 900
BULK_REPORTS = 1_000_000
DEMO_ACTOR = Actor("system", "demo")
DEMO_RULES = Path(__file__).parent / "rules"
DATING, MARKET = "dating", "market"


class DemoSize(StrEnum):
    SMALL = "small"
    LARGE = "large"  # the small set plus benchmark reports


@dataclass(frozen=True)
class StaffCredential:
    username: str
    display_name: str
    password: str
    roles: tuple[Role, ...]
    languages: tuple[str, ...]


def _staff(username: str, display_name: str, role: Role, languages: tuple[str, ...] = ("en",)) -> StaffCredential:
    return StaffCredential(username, display_name, f"demo-{username}-pass", (role,), languages)


# One user per role, plus a moderator for the Spanish and Portuguese queues. The passwords are
# fixed so that a second `trustdesk demo` can print them again.
DEMO_STAFF: tuple[StaffCredential, ...] = (
    _staff("moderator", "Sam Okafor", Role.MODERATOR),
    _staff("lucia", "Lucía Ferreira", Role.MODERATOR, ("es", "pt", "en")),
    _staff("senior", "Priya Raman", Role.SENIOR),
    _staff("escalations", "Tom Becker", Role.ESCALATIONS),
    _staff("qa", "Inès Duarte", Role.QA),
    _staff("privacy", "Hannah Berg", Role.PRIVACY),
    _staff("legal", "Luca Rossi", Role.LEGAL),
    _staff("child-safety", "Grace Liu", Role.CHILD_SAFETY),
    _staff("analyst", "Omar Haddad", Role.ANALYST),
    _staff("admin", "Alex Morgan", Role.ADMIN),
)


@dataclass
class DemoSummary:
    """What the demo holds, who can log in, and the API tokens made by this run."""

    already_seeded: bool
    subjects: dict[str, dict[str, int]]  # app slug → subject kind → count
    reports: dict[str, int]
    account_events: dict[str, int]
    media_files: int
    staff: tuple[StaffCredential, ...]
    tokens: dict[str, str]  # app slug → bearer token; empty when already seeded
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Building the plan: pure and deterministic, nothing is written yet.


@dataclass(frozen=True)
class _Identifiers:
    """The device, IP and card an account uses; a ring shares one set, which is what lets
    investigations link its accounts."""

    device_id: str
    ip: str
    payment_fingerprint: str


@dataclass(frozen=True)
class _Person:
    external_id: str
    place: Place
    created_at: datetime
    ids: _Identifiers


@dataclass(frozen=True)
class _Violation:
    external_id: str
    policy: str
    language: str
    victim: _Person | None = None


_Line = tuple[_Person, str, str | None]  # sender, text, the policy it breaks


@dataclass
class _Plan:
    slug: str
    name: str
    subjects: list[SubjectIn] = field(default_factory=list)
    photos: list[tuple[str, int]] = field(default_factory=list)  # photo external id, image seed
    events: list[AccountEventIn] = field(default_factory=list)
    reports: list[ReportIn] = field(default_factory=list)
    arrivals: dict[str, datetime] = field(default_factory=dict)  # report external id → received by TrustDesk
    urgent: set[str] = field(default_factory=set)  # subjects reported as imminent harm: all their reports are fresh
    people: list[_Person] = field(default_factory=list)
    benign: list[str] = field(default_factory=list)
    violations: list[_Violation] = field(default_factory=list)
    created: dict[str, datetime] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)


_DOCUMENTATION_NETS = ("192.0.2.", "198.51.100.", "203.0.113.")


class _Builder:
    """Draws one app's subjects, events and reports from the shared random source."""

    def __init__(self, rng: random.Random, now: datetime, scale: float, slug: str, name: str) -> None:
        self.rng, self.now, self.scale = rng, now, scale
        self.plan = _Plan(slug, name)
        self._counters: dict[str, int] = {}

    def count(self, full: int, floor: int) -> int:
        """`full` at scale 1; never below `floor`, so every scripted case exists at any scale."""
        return max(floor, round(full * self.scale))

    def next_id(self, prefix: str) -> str:
        self._counters[prefix] = self._counters.get(prefix, 0) + 1
        return f"{prefix}-{self._counters[prefix]:05d}"

    def token(self) -> str:
        return f"{self.rng.getrandbits(40):010x}"

    def days_ago(self, most: float, least: float = 0) -> datetime:
        return self.now - timedelta(seconds=self.rng.uniform(least * 86400, most * 86400))

    def after(self, start: datetime) -> datetime:
        return start + (self.now - start) * self.rng.random()

    def ip(self) -> str:
        if self.rng.random() < 0.75:
            return f"{self.rng.choice(_DOCUMENTATION_NETS)}{self.rng.randint(1, 254)}"
        return f"2001:db8:{self.rng.getrandbits(16):x}::{self.rng.getrandbits(16):x}"

    def identifiers(self, ip: str | None = None) -> _Identifiers:
        return _Identifiers(f"dev-{self.token()}", ip or self.ip(), f"pf-{self.token()}")

    def place(self, language: str | None = None) -> Place:
        choices = [p for p in PLACES if language is None or p.language == language]
        return self.rng.choices(choices, weights=[p.weight for p in choices])[0]

    def speaker(self, language: str, exclude: _Person | None = None) -> _Person:
        """An existing account writing in `language` (any account if none does)."""
        pool = [p for p in self.plan.people if p.place.language == language and p is not exclude]
        return self.rng.choice(pool or [p for p in self.plan.people if p is not exclude])

    def add(self, kind: SubjectKind, created_at: datetime, **fields: Any) -> str:
        external_id = self.next_id(kind.value)
        url = f"https://{self.plan.slug}.example/{kind.value}/{external_id}"
        self.plan.subjects.append(SubjectIn(external_id=external_id, kind=kind, url=url, created_at=created_at, **fields))
        self.plan.created[external_id] = created_at
        self.plan.urls[external_id] = url
        return external_id

    def account(
        self, place: Place, created_at: datetime, attributes: dict[str, Any], *, ring: _Identifiers | None = None, name: str | None = None
    ) -> _Person:
        """An account with its registration and a few logins; a ring member uses the `ring`'s identifiers."""
        rng = self.rng
        first = rng.choice(content.FIRST_NAMES[place.names])
        last = rng.choice(content.LAST_NAMES[place.names])
        handle = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode().lower().replace(" ", "")
        phone = _phone(rng, place.country)
        personal = {"email": f"{handle}{rng.randint(1, 999)}@example.{rng.choice(('com', 'org', 'net'))}",
                    "phone": phone, "display_name": name or f"{first} {last[0]}."}
        external_id = self.add(
            SubjectKind.ACCOUNT, created_at, country=place.country, region=rng.choice(place.regions), locale=place.locale,
            personal={k: v for k, v in personal.items() if v}, attributes=attributes,
        )
        person = _Person(external_id, place, created_at, ring or self.identifiers())
        self.plan.people.append(person)
        self.event(person, AccountEventKind.REGISTRATION, created_at,
                   phone_hash=hashlib.sha256(phone.encode()).hexdigest() if phone else None,
                   attributes={"platform": rng.choice(("ios", "android", "web"))})
        for _ in range(rng.randint(1, 4)):
            ip = person.ids.ip if rng.random() < 0.7 or ring else self.ip()
            self.event(person, AccountEventKind.LOGIN, self.after(created_at), ip=ip)
        if ring or rng.random() < 0.15:
            self.event(person, AccountEventKind.PAYMENT_METHOD_ADDED, self.after(created_at),
                       payment_fingerprint=person.ids.payment_fingerprint)
        return person

    def event(self, person: _Person, kind: AccountEventKind, at: datetime, **fields: Any) -> None:
        self.plan.events.append(
            AccountEventIn(**{"external_id": self.next_id("evt"), "account_external_id": person.external_id, "kind": kind,
                              "occurred_at": at, "ip": person.ids.ip, "device_id": person.ids.device_id} | fields)
        )

    def chat(self, a: _Person, b: _Person, lines: Sequence[_Line], language: str) -> list[str]:
        """A conversation started by `a` with `b`; returns its messages' external ids."""
        start = self.after(max(a.created_at, b.created_at, self.now - timedelta(days=30)))
        conversation = self.add(SubjectKind.CONVERSATION, start, account_external_id=a.external_id, language=language,
                                attributes={"participants": [a.external_id, b.external_id]})
        self.plan.benign.append(conversation)
        at, messages = start, []
        for sender, text, policy in lines:
            at = min(at + timedelta(minutes=self.rng.randint(1, 600)), self.now)
            message = self.add(SubjectKind.MESSAGE, at, parent_external_id=conversation, account_external_id=sender.external_id,
                               text=text, language=language)
            self.flag(message, policy, language, victim=b if sender is a else a)
            messages.append(message)
        return messages

    def flag(self, external_id: str, policy: str | None, language: str, victim: _Person | None = None) -> None:
        """Remember what the subject is (harmless, or breaking `policy`) for the reports to come."""
        if policy is None:
            self.plan.benign.append(external_id)
        else:
            self.plan.violations.append(_Violation(external_id, policy, language, victim))

    def arrival(self, created: datetime, urgent: bool) -> datetime:
        """When TrustDesk receives a report on a subject made at `created`: mostly in the last
        four hours, some earlier today or yesterday, a few up to three days ago; imminent harm
        only just now. About one case in ten ends up past its SLA."""
        if urgent:
            hours = self.rng.uniform(0, 0.25)
        else:
            hours = self.rng.uniform(*self.rng.choices(((0, 4), (4, 24), (24, 72)), weights=(70, 22, 8))[0])
        at = self.now - timedelta(hours=hours)
        return at if at > created else self.after(created)

    def report(self, subject: str, policy: str, reporter_type: ReporterType, *, reporter: _Person | None = None,
               text: str | None = None, dsa: DsaNotice | None = None, imminent_harm: bool = False) -> None:
        created = self.plan.created[subject]
        if imminent_harm:
            self.plan.urgent.add(subject)
        arrival = self.arrival(created, subject in self.plan.urgent)
        external_id = self.next_id("rep")
        self.plan.arrivals[external_id] = arrival
        self.plan.reports.append(
            ReportIn(external_id=external_id, subject_external_id=subject, policy_code=policy, reporter_type=reporter_type,
                     reporter_external_id=reporter.external_id if reporter else None, text=text or None, dsa=dsa or DsaNotice(),
                     imminent_harm=imminent_harm, reported_at=max(created, arrival - timedelta(minutes=self.rng.uniform(0, 30))))
        )


def _phone(rng: random.Random, country: str) -> str | None:
    """Numbers from the ranges reserved for fiction; other countries have none to borrow."""
    if country == "GB":
        return f"+44 7700 900{rng.randrange(1000):03d}"
    if country == "US":
        return f"+1 {rng.choice(('202', '312', '415', '512', '718'))} 555 01{rng.randrange(100):02d}"
    return None


def _cycle(index: int) -> str:
    """Scripted cases take the three languages in turn, so each shows up at any scale."""
    return LANGUAGES[index % len(LANGUAGES)]


def _fill(template: str, b: _Builder) -> str:
    return template.format(code=b.token()[:6])


def _plan_dating(rng: random.Random, now: datetime, scale: float) -> _Plan:
    b = _Builder(rng, now, scale, DATING, "Dating")
    profiles: dict[str, str] = {}

    def member(place: Place, bio: str, language: str, *, age: int | None = None, recent: bool = False,
               ring: _Identifiers | None = None, name: str | None = None, policy: str | None = None) -> _Person:
        created = b.days_ago(40, 2) if recent else b.days_ago(720, 3)
        attributes = {"declared_age": age or rng.randint(19, 58),
                      "looking_for": rng.choice(("relationship", "something casual", "friends", "not sure yet"))}
        person = b.account(place, created, attributes, ring=ring, name=name)
        profile = b.add(SubjectKind.PROFILE, created + timedelta(minutes=rng.randint(2, 90)), account_external_id=person.external_id,
                        parent_external_id=person.external_id, text=bio, language=language,
                        attributes={"interests": rng.sample(content.INTERESTS, 3)}, reach={"views": rng.randint(5, 4000)})
        profiles[person.external_id] = profile
        b.flag(profile, policy, language)
        return person

    def bio(language: str) -> str:
        return " ".join(rng.choice(part) for part in content.BIO_PARTS[language])

    def photo(person: _Person, image_seed: int) -> None:
        profile = profiles[person.external_id]
        external_id = b.add(SubjectKind.PHOTO, b.after(b.plan.created[profile]), parent_external_id=profile,
                            attributes={"width": 256, "height": 256})
        b.plan.photos.append((external_id, image_seed))
        b.plan.benign.append(external_id)

    for _ in range(b.count(2000, 30)):
        place = b.place()
        member(place, bio(place.language), place.language)
    for _ in range(b.count(300, 10)):
        photo(rng.choice(b.plan.people), rng.getrandbits(32))

    # Romance-scam ring: new accounts on one device and card, the same stolen photos, crypto pitches.
    ring, stolen = b.identifiers("203.0.113.66"), [rng.getrandbits(32) for _ in range(3)]
    for i in range(b.count(12, 3)):
        language = _cycle(i)
        scammer = member(b.place(language), rng.choice(content.SCAM_BIOS[language]), language, recent=True, ring=ring)
        for image_seed in rng.sample(stolen, 2):
            photo(scammer, image_seed)
        pitch, chat = content.ROMANCE_SCAM[language], content.CHAT[language]
        for _ in range(rng.randint(1, 3)):
            victim = b.speaker(language, exclude=scammer)
            b.chat(scammer, victim, [
                (scammer, pitch[0], None), (victim, rng.choice(chat.greetings), None), (scammer, pitch[1], None),
                (scammer, pitch[2], "SCAM"), (victim, rng.choice(chat.doubts), None),
                (scammer, _fill(pitch[3], b), "SCAM"), (scammer, pitch[4], "SCAM"),
            ], language)
        b.plan.violations.append(_Violation(scammer.external_id, "SCAM", language))

    # Ordinary conversations, some of which turn into harassment or hate.
    for _ in range(b.count(500, 20)):
        a = rng.choice(b.plan.people)
        other = b.speaker(a.place.language, exclude=a)
        b.chat(a, other, _small_talk(b, a, other)[: rng.randint(2, 8)], a.place.language)
    for i in range(b.count(25, 3)):
        language = _cycle(i)
        harasser = b.speaker(language)
        target = b.speaker(language, exclude=harasser)
        abuse: list[_Line] = [(harasser, line, "HARASSMENT") for line in content.HARASSMENT_LINES[language]]
        b.chat(harasser, target, _small_talk(b, harasser, target)[:2] + abuse, language)
    for i in range(b.count(10, 3)):
        language = _cycle(i)
        bigot = b.speaker(language)
        target = b.speaker(language, exclude=bigot)
        hate: _Line = (bigot, rng.choice(content.HATE_LINES[language]), "HATE_SPEECH")
        b.chat(bigot, target, [*_small_talk(b, bigot, target)[:3], hate], language)

    # Spam bots, an impersonator, underage users, and the two reports that cannot wait.
    for i in range(b.count(15, 3)):
        language = _cycle(i)
        bot = member(b.place(language), _fill(content.SPAM_LINES[language][0], b), language, recent=True, policy="SPAM")
        b.chat(bot, b.speaker(language, exclude=bot), [(bot, _fill(rng.choice(content.SPAM_LINES[language]), b), "SPAM")], language)
    for i in range(b.count(3, 1)):
        language = _cycle(i)
        member(b.place(language), content.IMPERSONATION_BIOS[language], language, recent=True,
               name=content.IMPERSONATED_NAME, policy="IMPERSONATION")
    for i in range(b.count(5, 3)):
        language = _cycle(i)
        member(b.place(language), content.UNDERAGE_BIOS[language], language, age=18, recent=True, policy="UNDERAGE_USER")
    # Child-safety cases for the CyberTipline flow: an adult grooming a member who says she is 15,
    # reported by her without flagging imminent harm, so it reaches the child-safety queue, whose
    # reviewer may flag it (text only: the demo holds no imagery of minors).
    for language in content.LANGUAGES:
        minor = member(b.place(language), content.UNDERAGE_BIOS[language], language, age=18, recent=True, policy="UNDERAGE_USER")
        adult = member(b.place(language), bio(language), language, age=41)
        opening = content.CHAT[language].openers[0]
        messages = b.chat(adult, minor, [(adult, opening, None),
                                         *((adult, line, "CHILD_GROOMING") for line in content.GROOMING_LINES[language])], language)
        b.report(messages[-1], "CHILD_GROOMING", ReporterType.USER, reporter=minor,
                 text=content.GENUINE_COMPLAINTS["CHILD_GROOMING"][language])
    for policy, lines, language in (("VIOLENT_THREATS", content.THREAT_LINES, "es"), ("SELF_HARM", content.SELF_HARM_LINES, "en")):
        a = b.speaker(language)
        other = b.speaker(language, exclude=a)
        messages = b.chat(a, other, [*_small_talk(b, a, other)[:4], (a, lines[language], policy)], language)
        b.report(messages[-1], policy, ReporterType.USER, reporter=other,
                 text=content.GENUINE_COMPLAINTS[policy][language], imminent_harm=True)

    _file_reports(b, b.count(2000, 60), ("SPAM", "SCAM", "HARASSMENT", "OTHER", "IMPERSONATION", "HATE_SPEECH"))
    return b.plan


def _small_talk(b: _Builder, a: _Person, other: _Person) -> list[_Line]:
    """A whole harmless chat in `a`'s language, to be cut short at any point."""
    chat, rng = content.CHAT[a.place.language], b.rng
    (q1, a1), (q2, a2) = rng.sample(chat.questions, 2)
    invite, answer = rng.choice(chat.invitations)
    return [(a, rng.choice(chat.openers), None), (other, rng.choice(chat.greetings), None), (a, q1, None), (other, a1, None),
            (other, q2, None), (a, a2, None), (a, invite, None), (other, answer, None)]


def _plan_market(rng: random.Random, now: datetime, scale: float) -> _Plan:
    b = _Builder(rng, now, scale, MARKET, "Market")
    listings: list[tuple[str, int, str]] = []  # external id, price in cents, currency

    def shop(owner: _Person, title: str, created: datetime, policy: str | None = None) -> str:
        external_id = b.add(SubjectKind.SHOP, created, account_external_id=owner.external_id, parent_external_id=owner.external_id,
                            title=title, language=owner.place.language,
                            reach={"followers": rng.randint(0, 3000), "sales": rng.randint(0, 900)})
        b.flag(external_id, policy, owner.place.language)
        return external_id

    def listing(shop_id: str, owner: _Person, product: Product, policy: str | None = None, brand: str = "") -> None:
        price = rng.randint(*product.price_range) * 100 + rng.choice((0, 50, 99))
        external_id = b.add(SubjectKind.LISTING, b.after(b.plan.created[shop_id]), parent_external_id=shop_id,
                            title=product.title.format(brand=brand), text=product.text, language=owner.place.language,
                            attributes={"price_cents": price, "currency": owner.place.currency, "category": product.category},
                            reach={"views": rng.randint(10, 5000), "sales": rng.randint(0, 120)})
        listings.append((external_id, price, owner.place.currency))
        b.flag(external_id, policy, owner.place.language)

    def seller(language: str | None = None, recent: bool = False, ring: _Identifiers | None = None) -> _Person:
        place = b.place(language)
        created = b.days_ago(60, 5) if recent else b.days_ago(1000, 30)
        return b.account(place, created, {"seller": True}, ring=ring)

    for _ in range(b.count(800, 30)):
        b.account(b.place(), b.days_ago(1000, 1), {"seller": False})
    for _ in range(b.count(150, 6)):
        owner = seller()
        parts = content.SHOP_NAMES[owner.place.language]
        shop_id = shop(owner, f"{rng.choice(parts[0])} {rng.choice(parts[1])}", b.after(owner.created_at))
        for _ in range(rng.randint(3, 10)):
            listing(shop_id, owner, rng.choice(content.PRODUCTS[owner.place.language]))

    # Counterfeit cluster: sellers on one device and card, an "official" store among them.
    ring = b.identifiers("198.51.100.23")
    for i in range(b.count(8, 3)):
        language, brand = _cycle(i), content.BRANDS[i % len(content.BRANDS)]
        owner = seller(language, recent=True, ring=ring)
        official = i < len(content.BRANDS)
        title = f"{brand} Official Store" if official else f"{brand} Outlet"
        shop_id = shop(owner, title, b.after(owner.created_at), "IMPERSONATION" if official else None)
        for _ in range(rng.randint(3, 6)):
            listing(shop_id, owner, rng.choice(content.COUNTERFEIT[language]), "COUNTERFEIT", brand)
    # Bait shops: a too-cheap console among copied ordinary listings, payment off the platform.
    for i in range(b.count(10, 3)):
        language = _cycle(i)
        owner = seller(language, recent=True)
        shop_id = shop(owner, f"{owner.place.country} Deals {rng.randint(10, 99)}", b.after(owner.created_at))
        listing(shop_id, owner, content.SCAM_LISTINGS[language], "SCAM")
        for product in rng.sample(content.PRODUCTS[language], rng.randint(2, 4)):
            listing(shop_id, owner, product)

    def review(text: str, language: str, policy: str | None) -> None:
        listing_id = rng.choice(listings)[0]
        author = b.speaker(language)
        external_id = b.add(SubjectKind.REVIEW, b.after(max(b.plan.created[listing_id], author.created_at)), parent_external_id=listing_id,
                            account_external_id=author.external_id, text=text, language=language,
                            attributes={"rating": rng.randint(1, 2) if policy else rng.randint(3, 5)})
        b.flag(external_id, policy, language)

    for _ in range(b.count(400, 15)):
        language = rng.choices(LANGUAGES, weights=(6, 2, 2))[0]
        review(rng.choice(content.REVIEWS[language]), language, None)
    for i in range(b.count(20, 3)):
        review(_fill(content.SPAM_REVIEWS[_cycle(i)], b), _cycle(i), "SPAM")
    for i in range(b.count(8, 3)):
        review(content.HARASSMENT_REVIEWS[_cycle(i)], _cycle(i), "HARASSMENT")

    for _ in range(b.count(1200, 20)):
        buyer = rng.choice(b.plan.people)
        listing_id, price, currency = rng.choice(listings)
        b.event(buyer, AccountEventKind.PURCHASE, b.after(max(buyer.created_at, b.plan.created[listing_id])),
                payment_fingerprint=buyer.ids.payment_fingerprint, amount_cents=price, currency=currency,
                attributes={"listing_external_id": listing_id})

    _file_reports(b, b.count(1000, 40), ("SCAM", "COUNTERFEIT", "SPAM", "HARASSMENT", "OTHER"))
    return b.plan


def _notice(b: _Builder, subject: str, policy: str, notifier: tuple[str, str]) -> DsaNotice:
    title = catalogue_by_code()[policy].title.lower()
    return DsaNotice(
        explanation=f"The content at this location is, in our assessment, {title}, contrary to your terms and to applicable law. "
                    f"Identified during our routine monitoring.",
        location_url=b.plan.urls[subject], notifier_name=notifier[0], notifier_email=notifier[1], good_faith=True,
    )


def _file_reports(b: _Builder, target: int, wrong_policies: tuple[str, ...]) -> None:
    """Most violations get reported, some more than once; the rest of `target` (at least a tenth)
    is false reports, citing `wrong_policies` with the first ones most often."""
    rng, plan = b.rng, b.plan

    def wrong_policy() -> str:
        return rng.choices(wrong_policies, weights=range(len(wrong_policies), 0, -1))[0]

    for violation in plan.violations:
        if rng.random() < 0.15:
            continue  # not every violation is reported: some wait to be found
        complaint = content.GENUINE_COMPLAINTS[violation.policy]
        for n in range(rng.choices((1, 2, 3, 4), weights=(5, 3, 1, 1))[0]):
            reporter = violation.victim if n == 0 and violation.victim else b.speaker(violation.language)
            b.report(violation.external_id, violation.policy, ReporterType.USER, reporter=reporter,
                     text=complaint[reporter.place.language] if rng.random() < 0.8 else None)
    flagged = [v for v in plan.violations if v.policy in ("SCAM", "COUNTERFEIT", "HATE_SPEECH", "IMPERSONATION")]
    for violation in rng.sample(flagged, min(len(flagged), b.count(40, 3))):
        b.report(violation.external_id, violation.policy, ReporterType.TRUSTED_FLAGGER,
                 dsa=_notice(b, violation.external_id, violation.policy, content.TRUSTED_FLAGGERS[plan.slug]))
    for subject in rng.sample(plan.benign, b.count(10, 1)):  # trusted flaggers are not always right
        policy = wrong_policy()
        b.report(subject, policy, ReporterType.TRUSTED_FLAGGER, dsa=_notice(b, subject, policy, content.TRUSTED_FLAGGERS[plan.slug]))
    for violation in [v for v in plan.violations if v.policy in ("IMPERSONATION", "COUNTERFEIT")][: b.count(6, 1)]:
        b.report(violation.external_id, violation.policy, ReporterType.LEGAL,
                 text="Formal notice of infringement; we request removal and preservation of records.",
                 dsa=_notice(b, violation.external_id, violation.policy, content.LEGAL_NOTIFIERS[plan.slug]))
    for violation in [v for v in plan.violations if v.policy == "UNDERAGE_USER"]:
        b.report(violation.external_id, violation.policy, ReporterType.SUPPORT,
                 text=f"Forwarded from support ticket #{rng.randint(10000, 99999)}: a parent says this account belongs to a 15-year-old.")
    for _ in range(max(target - len(plan.reports), target // 10)):
        subject = rng.choice(plan.benign)
        reporter = rng.choice(plan.people)
        complaint = rng.choice(content.WEAK_COMPLAINTS[reporter.place.language])
        if rng.random() < 0.1:
            b.report(subject, wrong_policy(), ReporterType.ANONYMOUS, text=complaint,
                     dsa=DsaNotice(explanation=complaint or None, location_url=plan.urls[subject]))
        else:
            b.report(subject, wrong_policy(), ReporterType.USER, reporter=reporter, text=complaint)


# ---------------------------------------------------------------------------------------------
# Writing the plan through intake.


def _quiet(_stage: str, _done: int, _total: int) -> None:
    return None


def _in_batches(
    db: Database, stage: str, items: Sequence[Item], write: Callable[[Session, Sequence[Item]], object], progress: Progress
) -> None:
    """One transaction per batch, as a host platform's client would send them."""
    for start in range(0, len(items), BATCH):
        with db.session() as session:
            write(session, items[start : start + BATCH])
        progress(stage, min(start + BATCH, len(items)), len(items))


def _store_photos(
    db: Database, who: intake.Submitter, photos: Sequence[tuple[str, int]], blobs: FileBlobStore, stage: str, progress: Progress
) -> None:
    """Render each picture once (the ring's stolen photos recur), check and store it, and attach it by hash."""
    stored: dict[int, media.CheckedMedia] = {}
    for start in range(0, len(photos), BATCH):
        with db.session() as session:
            for external_id, image_seed in photos[start : start + BATCH]:
                if image_seed not in stored:
                    stored[image_seed] = media.check_and_store(blobs, io.BytesIO(render_photo(image_seed)))
                intake.attach_media(session, who, external_id, stored[image_seed])
        progress(stage, min(start + BATCH, len(photos)), len(photos))


def _write_plan(db: Database, plan: _Plan, app_id: int, blobs: FileBlobStore, progress: Progress) -> None:
    who = intake.Submitter(app_id=app_id, actor=DEMO_ACTOR)
    _in_batches(db, f"{plan.slug} subjects", plan.subjects, lambda s, chunk: intake.create_subjects(s, who, chunk), progress)
    _store_photos(db, who, plan.photos, blobs, f"{plan.slug} photos", progress)
    _in_batches(db, f"{plan.slug} account events", plan.events,
                lambda s, chunk: intake.record_account_events(s, who, chunk), progress)
    _file_as_they_arrive(db, who, plan, progress)


def _file_as_they_arrive(db: Database, who: intake.Submitter, plan: _Plan, progress: Progress) -> None:
    """File the reports in arrival order, a quarter of an hour's at a time, as if received then."""
    stage, ordered = f"{plan.slug} reports", sorted(plan.reports, key=lambda r: plan.arrivals[r.external_id])
    done = 0
    for _window, arriving in groupby(ordered, key=lambda r: int(plan.arrivals[r.external_id].timestamp()) // ARRIVAL_WINDOW_SECONDS):
        window = list(arriving)
        for start in range(0, len(window), BATCH):
            chunk = window[start : start + BATCH]
            with db.session() as session:
                intake.file_reports(session, who, chunk, received_at=plan.arrivals[chunk[-1].external_id])
            done += len(chunk)
            progress(stage, done, len(ordered))


def _record_breaches(db: Database) -> None:
    """Run the SLA sweep, which goes on until nothing is left: the cases past their SLA are marked and audited."""
    sla.sweep(db)


_BULK_WORDS = (
    "please review this account it keeps sending the same message with a link to an investment site and asks "
    "for money off the platform several people in my group got it too"
).split()


def _bulk_reports(
    db: Database, rng: random.Random, now: datetime, plans: Sequence[tuple[int, _Plan]], total: int, progress: Progress
) -> None:
    """Benchmark load: `total` reports of about 300 bytes each, spread over the demo's subjects."""
    pools = [(app_id, plan.benign + [v.external_id for v in plan.violations], plan.people) for app_id, plan in plans]
    policies = ("SPAM", "SCAM", "HARASSMENT", "HATE_SPEECH", "IMPERSONATION", "OTHER")
    for number, start in enumerate(range(0, total, BATCH)):
        app_id, subjects, people = pools[number % len(pools)]
        items = []
        for n in range(start, min(start + BATCH, total)):
            reporter = rng.choice(people) if rng.random() < 0.7 else None
            items.append(ReportIn(
                external_id=f"bulk-{n:07d}", subject_external_id=rng.choice(subjects), policy_code=rng.choice(policies),
                reporter_type=ReporterType.USER if reporter else ReporterType.ANONYMOUS,
                reporter_external_id=reporter.external_id if reporter else None,
                text=" ".join(rng.choices(_BULK_WORDS, k=28))[:170], reported_at=now - timedelta(seconds=rng.randrange(14 * 86400)),
            ))
        with db.session() as session:
            intake.file_reports(session, intake.Submitter(app_id=app_id, actor=DEMO_ACTOR), items)
        progress("benchmark reports", start + len(items), total)


def _create_staff(session: Session, settings: Settings) -> list[str]:
    """Create the demo staff; returns the usernames that were already taken and left alone."""
    taken = set(session.execute(select(StaffUser.username)).scalars())
    for member in DEMO_STAFF:
        if member.username not in taken:
            staff.create_user(
                session, DEMO_ACTOR, settings, username=member.username, password=member.password, roles=member.roles,
                display_name=member.display_name, skills={"languages": list(member.languages)}, with_totp=False,
            )
    return [member.username for member in DEMO_STAFF if member.username in taken]


def _already_seeded(db: Database) -> bool:
    with db.reader() as session:
        found = session.execute(select(Subject.id).join(App, Subject.app_id == App.id).where(App.slug == DATING).limit(1))
        return found.first() is not None


def _per_app(session: Session, model: type[Report] | type[AccountEvent]) -> dict[str, int]:
    return dict(session.execute(select(App.slug, func.count()).join(model, model.app_id == App.id).group_by(App.slug)).all())


def _summary(db: Database, settings: Settings, *, already_seeded: bool, tokens: dict[str, str], kept: Sequence[str] = ()) -> DemoSummary:
    """Counts come from the database, so a second run reports what is really there."""
    with db.reader() as session:
        subjects: dict[str, dict[str, int]] = {}
        rows = session.execute(
            select(App.slug, Subject.kind, func.count()).join(Subject, Subject.app_id == App.id)
            .group_by(App.slug, Subject.kind).order_by(App.slug, Subject.kind)
        )
        for slug, kind, count in rows:
            subjects.setdefault(slug, {})[kind] = count
        reports, events = _per_app(session, Report), _per_app(session, AccountEvent)
        media = session.execute(select(func.count()).select_from(Blob)).scalar_one()
    notes = []
    if already_seeded:
        notes.append("The demo data was already there; nothing was added (to start over, use an empty data directory). "
                     "API tokens are shown only when created: make a new one with `trustdesk clients create NAME --app dating`.")
    else:
        notes.append("API tokens are shown once: store them now.")
    if kept:
        notes.append(f"Existing staff users were left as they were and do not have the demo password: {', '.join(kept)}.")
    if not settings.relax_totp:
        notes.append("Roles that need a second factor (" + ", ".join(settings.totp_required_roles) + ") cannot log in "
                     "to the demo without one: run with TRUSTDESK_RELAX_TOTP=1.")
    return DemoSummary(already_seeded, subjects, reports, events, media, DEMO_STAFF, tokens, notes)


# A few canned rationales, so the decision panel shows its one-click fills in the demo.
DEMO_RATIONALES = {
    "SPAM": ("The same promotional link was posted repeatedly to people who did not ask for it.",
             "The account sells fake followers or engagement."),
    "SCAM": ("Asks for payment or personal details outside the platform.",
             "Advertises an item at a price and with a story typical of advance-fee fraud."),
    "HARASSMENT": ("Repeated unwanted contact after the person asked it to stop.",
                   "Insults aimed at a specific person."),
}


def seed_demo(
    db: Database,
    settings: Settings,
    *,
    size: str = "small",
    progress: Progress | None = None,
    scale: float = 1.0,
    report_target: int = BULK_REPORTS,
) -> DemoSummary:
    """Fill a fresh database with the demo; a database that already has it is left alone.

    `scale` shrinks every count (scripted cases keep a floor, so all of them exist), which keeps
    tests fast; `large` adds `report_target` benchmark reports on top of the small set.
    """
    try:
        chosen = DemoSize(size)
    except ValueError as exc:
        raise ValueError(f"size: one of {', '.join(DemoSize)}") from exc
    if scale <= 0:
        raise ValueError("scale: must be positive")
    if _already_seeded(db):
        return _summary(db, settings, already_seeded=True, tokens={})
    progress = progress or _quiet
    rng, now = random.Random(SEED), utcnow()
    plans = [_plan_dating(rng, now, scale), _plan_market(rng, now, scale)]
    tokens: dict[str, str] = {}
    app_ids: list[int] = []
    with db.session() as session:
        kept = _create_staff(session, settings)
        for code, texts in DEMO_RATIONALES.items():
            for position, text in enumerate(texts):
                add_rationale(session, DEMO_ACTOR, code, text, position * 10)
        # Rules kept as files, as a team would keep them in a repository: two live, one on trial in shadow.
        sync_directory(session, DEMO_ACTOR, DEMO_RULES)
        for plan in plans:
            app = ensure_app(session, DEMO_ACTOR, plan.slug, plan.name)
            _client, tokens[plan.slug] = api_clients.create_client(session, DEMO_ACTOR, app, f"{plan.slug}-backend", list(Scope))
            app_ids.append(app.id)
    blobs = FileBlobStore(settings.blob_dir)
    for app_id, plan in zip(app_ids, plans, strict=True):
        _write_plan(db, plan, app_id, blobs, progress)
    if chosen is DemoSize.LARGE:
        _bulk_reports(db, rng, now, list(zip(app_ids, plans, strict=True)), report_target, progress)
    _record_breaches(db)
    return _summary(db, settings, already_seeded=False, tokens=tokens, kept=kept)
