"""The seeded policy catalogue: what the community guidelines forbid and how each maps out.

The catalogue is the starting point a new deployment gets; admins edit it afterwards and
every edit makes a new version in the database. Each policy names the actions a reviewer may
take under it and its DSA statement-of-reasons category/keywords (and NCMEC incident type for
child-safety policies), so later artefacts never need a second mapping table. Its description
says what the rule forbids; its guidance says how a reviewer checks it, next to the decision
tree (`trustdesk.domain.catalogue_trees`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from trustdesk.domain.errors import FieldError
from trustdesk.domain.taxonomy import (
    DSA_CATEGORIES,
    DSA_KEYWORDS,
    NCMEC_INCIDENT_TYPES,
    keywords_for,
)


class Action(StrEnum):
    REMOVE = "remove"
    DISABLE = "disable"
    RESTRICT_VISIBILITY = "restrict_visibility"
    AGE_RESTRICT = "age_restrict"
    LABEL = "label"
    WARN = "warn"
    STRIKE = "strike"
    SUSPEND = "suspend"
    BAN = "ban"
    DEMONETISE = "demonetise"
    CASCADE_TAKEDOWN = "cascade_takedown"
    REINSTATE = "reinstate"


class PolicyError(FieldError):
    """A policy definition is inconsistent; `field` names the field at fault."""


MAX_TITLE = 200
MAX_TEXT = 10_000  # description, guidance


@dataclass(frozen=True)
class PolicySpec:
    code: str
    title: str
    severity: int
    allowed_actions: tuple[Action, ...]
    dsa_category: str
    dsa_keywords: tuple[str, ...] = ()
    ncmec_incident_type: str | None = None
    # Graphic policies blur media by default and count toward reviewer exposure limits.
    graphic: bool = False
    description: str = ""
    guidance: str = ""

    def validate(self) -> None:
        if not self.code or not self.code.replace("_", "").isalnum():
            raise PolicyError("code", "letters, digits and underscores only")
        if not self.title.strip() or len(self.title) > MAX_TITLE:
            raise PolicyError("title", f"1 to {MAX_TITLE} characters")
        if not 1 <= self.severity <= 5:
            raise PolicyError("severity", "must be between 1 and 5")
        if self.dsa_category not in DSA_CATEGORIES:
            raise PolicyError("dsa_category", f"unknown value {self.dsa_category!r}")
        fitting = keywords_for(self.dsa_category)
        for keyword in self.dsa_keywords:
            if keyword not in DSA_KEYWORDS:
                raise PolicyError("dsa_keywords", f"unknown value {keyword!r}")
            if keyword not in fitting:
                raise PolicyError("dsa_keywords", f"{keyword} is not a keyword of {self.dsa_category}")
        if self.ncmec_incident_type and self.ncmec_incident_type not in NCMEC_INCIDENT_TYPES:
            raise PolicyError("ncmec_incident_type", f"unknown value {self.ncmec_incident_type!r}")
        if not self.allowed_actions:
            raise PolicyError("allowed_actions", "at least one action is needed")
        for name in ("description", "guidance"):
            if len(getattr(self, name)) > MAX_TEXT:
                raise PolicyError(name, f"at most {MAX_TEXT} characters")


_CONTENT = (Action.REMOVE, Action.RESTRICT_VISIBILITY, Action.LABEL, Action.WARN, Action.STRIKE)
_ACCOUNT = (Action.SUSPEND, Action.BAN)

CATALOGUE: tuple[PolicySpec, ...] = (
    PolicySpec(
        "HARASSMENT", "Harassment and bullying", 3, _CONTENT + (Action.SUSPEND,),
        "STATEMENT_CATEGORY_CYBER_VIOLENCE", ("KEYWORD_CYBER_HARASSMENT", "KEYWORD_CYBER_BULLYING_INTIMIDATION"),
        description="Abuse aimed at a person: insults, humiliation, unwanted sexual attention, threats, and "
                    "contact kept up after being ignored or blocked, including piling on in a group.",
        guidance="Read the conversation from the start, both sides: who started it, and was the target ever willing?\n"
                 "A single rude message between equals is not harassment; a pattern, a power imbalance or a "
                 "block being dodged with new accounts is.\n"
                 "A credible threat (a time, a place, an address) is imminent harm: flag it before you decide.\n"
                 "An attack on someone for who they are (race, religion, orientation…) may be Hate speech instead.",
    ),
    PolicySpec(
        "HATE_SPEECH", "Hate speech", 4, _CONTENT + _ACCOUNT,
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", ("KEYWORD_HATE_SPEECH",),
        description="Attacks on people for a protected characteristic (race, ethnicity, national origin, religion, "
                    "caste, sex, gender identity, sexual orientation, disability or serious disease): calls for "
                    "violence or exclusion, dehumanising comparisons, slurs and hateful stereotypes.",
        guidance="Ask who is attacked: people for who they are (not allowed) or ideas, beliefs, governments and "
                 "public figures' actions (allowed to criticise).\n"
                 "Counter-speech, news reporting and a group reclaiming a slur are allowed: say so in the rationale.\n"
                 "Coded hate counts: numbers such as 88, symbols, 'jokes' about a group. Look at the account's name, "
                 "profile and earlier decisions.",
    ),
    PolicySpec(
        "SEXUAL_CONTENT", "Adult sexual content", 2,
        (Action.REMOVE, Action.AGE_RESTRICT, Action.LABEL, Action.WARN, Action.STRIKE),
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC", ("KEYWORD_ADULT_SEXUAL_MATERIAL", "KEYWORD_NUDITY"),
        graphic=True,
        description="Explicit sexual content between adults posted in public spaces or sent to people who did not "
                    "ask for it. Nudity without sexual activity is allowed behind the age gate.",
        guidance="First rule out a minor: if anyone shown could be under 18, stop and treat it as child sexual "
                 "abuse material.\n"
                 "Then rule out consent problems: a complaint from the person shown, 'leaked' or 'ex' captions or "
                 "hidden-camera angles make it Non-consensual intimate imagery.\n"
                 "Art, swimwear, breastfeeding and health education are allowed.",
    ),
    PolicySpec(
        "CSAM", "Child sexual abuse material and exploitation", 5,
        (Action.REMOVE, Action.BAN, Action.CASCADE_TAKEDOWN),
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", ("KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",),
        ncmec_incident_type="Child Pornography (possession, manufacture, and distribution)",
        graphic=True,
        description="Any sexual depiction of a person under 18, real, drawn or AI-generated, and any offer, request "
                    "or trade of such material.",
        guidance="Never download, copy, forward or screenshot the media; look only as long as you need to decide.\n"
                 "When the age is unclear, treat the person as a minor.\n"
                 "A confirmed case needs an NCMEC CyberTipline report, and its evidence is preserved for a year.\n"
                 "Do not tell the account why it was actioned (no tipping off). Take breaks: step out of the queue "
                 "whenever you need to.",
    ),
    PolicySpec(
        "CHILD_GROOMING", "Grooming and enticement of minors", 5,
        (Action.REMOVE, Action.BAN, Action.CASCADE_TAKEDOWN),
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", ("KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",),
        ncmec_incident_type="Online Enticement of Children for Sexual Acts",
        description="An adult building trust with a minor to abuse them: sexual talk or requests for images, gifts "
                    "or money, secrecy, moving the chat to another app, or arranging to meet.",
        guidance="Read the whole conversation, oldest message first: grooming is a pattern, rarely one message.\n"
                 "Establish that one side is a minor (stated age, school, how they write) and what the other asks for.\n"
                 "A planned meeting is imminent harm: flag it at once.\n"
                 "A confirmed case needs an NCMEC report (online enticement). The child is the victim: never sanction "
                 "the child's account for it.",
    ),
    PolicySpec(
        "NCII", "Non-consensual intimate imagery", 5,
        (Action.REMOVE, Action.STRIKE, Action.SUSPEND, Action.BAN),
        "STATEMENT_CATEGORY_CYBER_VIOLENCE",
        ("KEYWORD_NON_CONSENSUAL_IMAGE_SHARING", "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE"),
        graphic=True,
        description="Intimate images or videos of someone shared without their consent, real or fake (deepfakes, "
                    "'nudify' apps), and threats to share them (sextortion).",
        guidance="The request of the person shown is enough: they need not prove anything.\n"
                 "Valid requests must be acted on within 48 hours (TAKE IT DOWN Act), and known copies removed too: "
                 "search for the same media on other subjects.\n"
                 "If the person shown may be a minor, it is child sexual abuse material: change the policy.",
    ),
    PolicySpec(
        "VIOLENT_THREATS", "Violent threats", 4, _CONTENT + _ACCOUNT,
        "STATEMENT_CATEGORY_VIOLENCE", ("KEYWORD_INCITEMENT_VIOLENCE_HATRED",),
        description="Threats to kill, hurt or sexually assault someone, and calls on others to do so.",
        guidance="Tell threats from figures of speech: 'I'll kill you if you spoil the ending' between friends is not "
                 "a threat. Read the replies: did the person take it as one?\n"
                 "Specific and credible (a named person, a time, a place, a weapon, knowing where someone lives) is "
                 "imminent harm: flag it first; the authorities may need to be told (DSA Art. 18).",
    ),
    PolicySpec(
        "GRAPHIC_VIOLENCE", "Graphic violence and gore", 3,
        (Action.REMOVE, Action.AGE_RESTRICT, Action.LABEL, Action.STRIKE),
        "STATEMENT_CATEGORY_VIOLENCE", (), graphic=True,
        description="Real images of death, serious injury, torture or mutilation of people or animals shared to shock "
                    "or to celebrate the violence.",
        guidance="Reveal media only as far as you need, one item at a time.\n"
                 "Decide why it is shared: documenting events and news may stay behind an age gate with a warning "
                 "label; celebrating or mocking victims is removed.\n"
                 "Content praising an attack may be terrorist content: comment on the case for escalation.",
    ),
    PolicySpec(
        "SELF_HARM", "Suicide and self-harm", 4,
        (Action.REMOVE, Action.RESTRICT_VISIBILITY, Action.LABEL),
        "STATEMENT_CATEGORY_SELF_HARM",
        ("KEYWORD_SUICIDE", "KEYWORD_SELF_MUTILATION", "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS"),
        graphic=True,
        description="Content that promotes or instructs suicide, self-harm or eating disorders, and graphic images of "
                    "self-harm. People talking about their own struggles are helped, not punished.",
        guidance="First ask whether someone is at risk now (a plan, a method, a time, a goodbye): if so, flag imminent "
                 "harm before anything else.\n"
                 "Remove instructions and encouragement; hide graphic images; leave recovery and support talk up.\n"
                 "The person is never sanctioned for talking about their own pain.",
    ),
    PolicySpec(
        "SCAM", "Scams and fraud", 4, _CONTENT + _ACCOUNT + (Action.DEMONETISE,),
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", ("KEYWORD_PHISHING",),
        description="Deceiving people out of money or data: romance and investment scams, fake shops and payment "
                    "pages, phishing for logins or card details, advance-fee and 'emergency' requests.",
        guidance="Read the whole conversation: romance and investment scams ask for money only after days of "
                 "friendly chat, often after moving to WhatsApp or Telegram.\n"
                 "Signs: money, gift cards or crypto; promised returns; urgency; a story that does not add up; "
                 "photos found elsewhere under another name; identifiers shared with accounts banned for fraud "
                 "(see Related accounts).\n"
                 "Open links only in the sandbox. Write who paid, and how much, in the rationale.",
    ),
    PolicySpec(
        "SPAM", "Spam and platform manipulation", 2, _CONTENT + _ACCOUNT,
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", ("KEYWORD_INAUTHENTIC_ACCOUNTS",),
        description="Unsolicited mass messages and advertising, fake or automated accounts, and fake engagement "
                    "(bought followers, likes or reviews).",
        guidance="Look for the wave, not the message: the same text or link across many people or accounts.\n"
                 "Check the account: age, profile, posting speed, and shared identifiers in Related accounts.\n"
                 "A real person over-promoting gets a warning; a bot network gets banned, and a bulk decision is "
                 "the quickest way to act on all of it.",
    ),
    PolicySpec(
        "IMPERSONATION", "Impersonation", 3, (Action.REMOVE, Action.WARN) + _ACCOUNT,
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", ("KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",),
        description="Pretending to be another person, a brand or this platform's staff in a way that deceives.",
        guidance="Compare with the real person or brand: name, photos, links. A report from them, or their "
                 "representative, carries weight.\n"
                 "Clearly labelled parody, fan and commentary accounts are allowed.\n"
                 "An impersonator asking for money or logins is also a scam: say so in the rationale.",
    ),
    PolicySpec(
        "PROHIBITED_PRODUCTS", "Prohibited and unsafe products", 3,
        _CONTENT + (Action.DEMONETISE, Action.CASCADE_TAKEDOWN),
        "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS", ("KEYWORD_PROHIBITED_PRODUCTS", "KEYWORD_UNSAFE_PRODUCTS"),
        description="Listings for goods and services the platform bans: weapons and ammunition, drugs and prescription "
                    "medicines, recalled or unsafe goods, wildlife products, stolen goods, fake documents.",
        guidance="Read title, photos and description together: sellers use code words and blurry photos.\n"
                 "Some goods are allowed with limits (alcohol, age-restricted items): restrict, do not remove.\n"
                 "A shop built around banned goods is taken down whole: use Cascade takedown on the shop, after its "
                 "preview.",
    ),
    PolicySpec(
        "COUNTERFEIT", "Counterfeit goods and IP infringement", 3,
        _CONTENT + (Action.DEMONETISE, Action.CASCADE_TAKEDOWN),
        "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS", ("KEYWORD_TRADEMARK_INFRINGEMENT",),
        description="Fakes and replicas sold under a brand's name or logo, and listings that use a brand's marks to "
                    "mislead buyers.",
        guidance="Three checks: does it use a brand, does it admit or hint it is fake ('replica', 'AAA', '1:1', 'dupe'), "
                 "and is the price far below the real thing?\n"
                 "Genuine second-hand goods are allowed, even below retail.\n"
                 "Look at the seller: many brands at fractions of their price is a counterfeit shop; take it down "
                 "whole from the shop's page.",
    ),
    PolicySpec(
        "UNDERAGE_USER", "Underage user", 4, (Action.SUSPEND, Action.BAN),
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", ("KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",),
        description="Accounts of people under the app's minimum age (18 on dating apps, 13 elsewhere unless the app "
                    "sets another).",
        guidance="Count what the person says (age, birth year, school year) and shows (school uniform, classroom, "
                 "parents), not only the age they registered with.\n"
                 "One weak sign is not enough: write it in a comment for the next reviewer.\n"
                 "If the minor is involved in anything sexual, it is a child-safety case: flag imminent harm and "
                 "change the policy to Grooming or CSAM.\n"
                 "A suspended user can appeal with proof of age.",
    ),
    PolicySpec(
        "MISINFORMATION", "Harmful misinformation", 2,
        (Action.LABEL, Action.RESTRICT_VISIBILITY, Action.REMOVE),
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
        ("KEYWORD_MISINFORMATION_DISINFORMATION",),
        description="False claims that can cause real harm: dangerous health advice, wrong voting dates or places and "
                    "claims meant to keep people from voting, hoaxes during emergencies.",
        guidance="Act on claims shown false by a trusted source (health authority, election official, fact-checker), "
                 "and quote it in the rationale.\n"
                 "Opinion, satire and the not-yet-checked are not misinformation.\n"
                 "Prefer labels and less reach; remove only what can directly hurt people.",
    ),
    PolicySpec(
        "OTHER", "Other terms-of-service violation", 1, _CONTENT,
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC", (),
        description="A rule of the terms of service that no other policy covers.",
        guidance="Name the rule in the rationale: it goes into the statement of reasons.\n"
                 "If another policy fits, change the policy instead.",
    ),
)


def catalogue_by_code() -> dict[str, PolicySpec]:
    return {policy.code: policy for policy in CATALOGUE}
