"""The decision tree written for each catalogue policy: what a reviewer really checks.

Each tree asks the questions an experienced reviewer asks of that kind of report, in the order
that settles the most serious possibility first (a minor, a credible threat, someone at risk),
and each way out gives a verdict with the actions the policy allows. Where the right next step
is outside the decision (flag imminent harm, change the policy, report to NCMEC), the outcome
says so in its note. Trees are data in the schema of `trustdesk.domain.decision_trees`; admins
edit them per policy version, and `tests/domain/test_catalogue_trees.py` validates them all.
"""

from __future__ import annotations

from typing import Any

from trustdesk.domain.decision_trees import NO_VIOLATION, VIOLATION
from trustdesk.domain.policies import Action

Answer = tuple[str, "str | dict[str, Any]"]  # label, and the next node's name or an outcome

REMOVE, RESTRICT, AGE_RESTRICT, LABEL = Action.REMOVE, Action.RESTRICT_VISIBILITY, Action.AGE_RESTRICT, Action.LABEL
WARN, STRIKE, SUSPEND, BAN, DEMONETISE = Action.WARN, Action.STRIKE, Action.SUSPEND, Action.BAN, Action.DEMONETISE

IMMINENT_HARM = "Flag imminent harm on this case first (the button below the decision): someone may be at risk now. "


def ask(question: str, *answers: Answer, help: str = "") -> dict[str, Any]:
    node: dict[str, Any] = {"question": question, "answers": [
        {"label": label, "next": to} if isinstance(to, str) else {"label": label, "outcome": to} for label, to in answers
    ]}
    return node | {"help": help} if help else node


def violation(*actions: Action, note: str = "") -> dict[str, Any]:
    outcome: dict[str, Any] = {"verdict": VIOLATION, "actions": [a.value for a in actions]}
    return outcome | {"note": note} if note else outcome


def fine(note: str = "") -> dict[str, Any]:
    return {"verdict": NO_VIOLATION, "note": note} if note else {"verdict": NO_VIOLATION}


def tree(start: str, **nodes: dict[str, Any]) -> dict[str, Any]:
    return {"start": start, "nodes": nodes}


CATALOGUE_TREES: dict[str, dict[str, Any]] = {
    "HARASSMENT": tree(
        "target",
        target=ask("Is it aimed at a specific person: named, tagged, replied to or otherwise identifiable?",
                   ("Yes", "threat"),
                   ("No: general rudeness, or an argument between equals", fine(
                       "Swearing and disagreement aimed at no one are not harassment; blocking and muting are the "
                       "user's remedy."))),
        threat=ask("Does it threaten violence, or say where the person lives, works or can be found?",
                   ("Yes", violation(REMOVE, SUSPEND, note=IMMINENT_HARM + "If the threat is the point, Violent threats "
                                     "is the better policy: it allows a ban.")),
                   ("No", "sexual"),
                   help="A threat naming a time or a place, or someone saying they are on their way, is imminent harm."),
        sexual=ask("Is it unwanted sexual attention: sexual comments, requests or images sent to someone who did not "
                   "ask for them?",
                   ("Yes", violation(REMOVE, STRIKE)),
                   ("No", "protected")),
        protected=ask("Does it attack the person for who they are: race, ethnicity, religion, gender, sexual "
                      "orientation, disability?",
                      ("Yes", violation(REMOVE, STRIKE, note="If the words attack the whole group as much as the "
                                        "person, decide under Hate speech instead.")),
                      ("No", "pattern")),
        pattern=ask("Is it repeated or coordinated: several messages after being ignored or blocked, new accounts to "
                    "get round a block, or others piling on?",
                    ("Yes", violation(REMOVE, STRIKE)),
                    ("No: a single insult", violation(REMOVE, WARN))),
    ),
    "HATE_SPEECH": tree(
        "protected",
        protected=ask("Does it target people for a protected characteristic: race, ethnicity, national origin, "
                      "religion, caste, sex, gender identity, sexual orientation, disability or serious disease?",
                      ("Yes", "attack"),
                      ("No: it criticises ideas, beliefs, a government or what a public figure did", fine(
                          "Criticism of ideas, religions as beliefs and governments is allowed."))),
        attack=ask("What does it do to them?",
                   ("Calls for violence or exclusion, or dehumanises (vermin, disease, animals)", violation(
                       REMOVE, STRIKE, note="A call to violence with a time or a place is imminent harm: flag it.")),
                   ("Slurs, hateful stereotypes or contempt", "account"),
                   ("Quotes it to condemn or report it, or a group reclaims a word about itself", fine(
                       "Counter-speech, news and reclaimed use are allowed; say which in the rationale."))),
        account=ask("Is the account built around hate: a hateful name or symbols (88, SS runes), or earlier hate "
                    "speech decisions?",
                    ("Yes", violation(REMOVE, BAN)),
                    ("No", violation(REMOVE, STRIKE)),
                    help="See the profile and Earlier decisions under Account history."),
    ),
    "SEXUAL_CONTENT": tree(
        "minor",
        minor=ask("Could anyone shown be under 18: a young face or body, a school uniform, a stated age, or words "
                  "such as 'teen' or 'barely legal'?",
                  ("Yes, or unsure", violation(REMOVE, note="Stop: this is child sexual abuse material. Change the "
                                               "policy to CSAM so it is reported to NCMEC, and do not download, copy "
                                               "or share the media.")),
                  ("No: clearly adults", "shows"),
                  help="If in doubt, treat the person as a minor."),
        shows=ask("What does it show?",
                  ("Sexual activity or genitals", "consent"),
                  ("Nudity or sexual poses, without sexual activity", violation(
                      AGE_RESTRICT, note="Nudity is allowed behind the age gate: restrict it, do not remove it.")),
                  ("Swimwear, underwear, art, breastfeeding or health education", fine())),
        consent=ask("Is there any sign it was shared without the consent of the person shown: a complaint from them, "
                    "'ex' or 'leaked' captions, hidden-camera angles?",
                    ("Yes", violation(REMOVE, note="Change the policy to Non-consensual intimate imagery: it has a "
                                      "48-hour removal duty and stronger sanctions.")),
                    ("No", "where")),
        where=ask("Where was it posted?",
                  ("Sent to someone who did not ask for it", violation(REMOVE, STRIKE)),
                  ("Posted in a public place", violation(REMOVE, WARN))),
    ),
    "CSAM": tree(
        "minor",
        minor=ask("Does it show, or appear to show, a person under 18 in a sexual way: sexual acts, nudity focused on "
                  "the body, or sexualised poses? Drawn and AI-generated images count.",
                  ("Yes", "who"),
                  ("Age unclear", violation(REMOVE, note="Treat the person as a minor. Ask a second child-safety "
                                            "reviewer in a comment before the NCMEC report is filed.")),
                  ("No: clearly adults", fine("Adults only: if it is explicit, it belongs under Adult sexual content.")),
                  help="Do not download, copy, forward or screenshot the media. Look only as long as you need."),
        who=ask("Who is sharing it?",
                ("Someone sharing, selling, trading or asking for it", violation(
                    REMOVE, BAN, note="An NCMEC CyberTipline report is required; the evidence is kept for a year. "
                    "Do not tell the account why (no tipping off). Take down everything else it posted from the "
                    "account's page.")),
                ("The child shown, sharing an image of themselves", violation(
                    REMOVE, note="The child is a victim, not an offender: no ban. Report to NCMEC, and review the "
                    "adults they talk to under Grooming."))),
    ),
    "CHILD_GROOMING": tree(
        "minor",
        minor=ask("Is one side of the conversation a minor: a stated age, a school or grade, how they write, or a "
                  "profile already flagged as underage?",
                  ("Yes, or likely", "asks"),
                  ("No: both adults", fine("Adults only: unwanted sexual messages belong under Harassment."))),
        asks=ask("What does the other person do?",
                 ("Arranges to meet, or asks for sexual images", violation(
                     REMOVE, BAN, note=IMMINENT_HARM + "An NCMEC report (online enticement) is required.")),
                 ("Sexual talk, gifts or money, secrecy, or moving the chat to another app", violation(
                     REMOVE, BAN, note="An NCMEC report (online enticement) is required.")),
                 ("None of these", fine("Write what you saw in a comment: the next message may change the picture.")),
                 help="Grooming is a pattern: read the whole conversation, oldest message first."),
    ),
    "NCII": tree(
        "intimate",
        intimate=ask("Is it an intimate image or video (nudity, sexual activity, someone undressed or in a private "
                     "moment), real or fake (deepfake, 'nudify' app)?",
                     ("Yes", "consent"),
                     ("No", fine("Not intimate: if it is used against someone, review it under Harassment."))),
        consent=ask("Is there a sign it is shared without consent: the person shown asked for removal, 'ex', "
                    "'leaked' or 'exposed' captions, a deepfake, or a threat to post it?",
                    ("Yes", "extortion"),
                    ("No: apparently consensual adult content", fine("Review it under Adult sexual content if it is "
                                                                     "explicit.")),
                    help="The word of the person shown is enough. A valid request must be met within 48 hours, "
                         "known copies included."),
        extortion=ask("Is it used to extort: money, more images or a meeting in return for not posting?",
                      ("Yes", violation(REMOVE, BAN, note="Sextortion. If the victim may be a minor, change the policy "
                                        "to CSAM. If they talk of hurting themselves, flag imminent harm.")),
                      ("No", "uploader")),
        uploader=ask("Did this account post it knowingly: the first uploader, or with the person's name or insulting "
                     "captions?",
                     ("Yes", violation(REMOVE, BAN)),
                     ("No: it re-shared something already circulating", violation(REMOVE, STRIKE))),
    ),
    "VIOLENT_THREATS": tree(
        "threat",
        threat=ask("Does it threaten to kill, hurt or sexually assault someone, or call on others to do it?",
                   ("Yes", "credible"),
                   ("No: plain exaggeration, a joke between friends, or fiction or a game", fine(
                       "Read the replies: did the person take it as a threat? If so, answer Yes."))),
        credible=ask("Is it specific: a named person, a time, a place, a weapon, or signs of means such as knowing "
                     "where someone lives?",
                     ("Yes", violation(REMOVE, BAN, note=IMMINENT_HARM + "A threat to life or safety may have to be "
                                       "reported to the authorities (DSA Art. 18); write what makes it credible.")),
                     ("No: vague", "target")),
        target=ask("Is it aimed at a person or a group who can be identified?",
                   ("Yes", violation(REMOVE, STRIKE)),
                   ("No: general violent talk", violation(RESTRICT, WARN))),
    ),
    "GRAPHIC_VIOLENCE": tree(
        "real",
        real=ask("Does it show real death, serious injury, torture or mutilation of people or animals?",
                 ("Yes", "purpose"),
                 ("No: fiction, games, film effects, or minor injuries", fine()),
                 help="Reveal one item at a time, only as far as you need."),
        purpose=ask("Why is it shared?",
                    ("To celebrate, mock or encourage the violence", violation(
                        REMOVE, STRIKE, note="Praise for an attack may be terrorist content: comment for escalation.")),
                    ("News, documentation, awareness, or to condemn it", violation(
                        AGE_RESTRICT, LABEL, note="It has value as a record: keep it behind the age gate with a "
                        "warning label such as 'graphic violence'.")),
                    ("No clear purpose: shock content", violation(REMOVE))),
    ),
    "SELF_HARM": tree(
        "risk",
        risk=ask("Does the person say they mean to hurt or kill themselves soon: a plan, a method, a time, or a "
                 "goodbye?",
                 ("Yes", violation(RESTRICT, note=IMMINENT_HARM + "Do not remove it before the escalation team has "
                                   "seen it; the notice to the user carries support resources.")),
                 ("No", "content"),
                 help="You are not judging whether they mean it: any sign of a plan is urgent."),
        content=ask("What is it?",
                    ("Instructions or encouragement: methods, challenges, pro-eating-disorder tips", violation(REMOVE)),
                    ("Graphic images of self-harm", violation(RESTRICT, LABEL)),
                    ("Someone talking about their own struggle or recovery", fine(
                        "Support and recovery talk stays up; the person is never sanctioned for it.")),
                    ("Awareness, news or where to find help", fine())),
    ),
    "SCAM": tree(
        "asks",
        asks=ask("Does it ask for money, gift cards, crypto, or bank, card or login details, directly or as a loan, "
                 "a fee, an investment or an emergency?",
                 ("Yes", "identity"),
                 ("No, but it pushes a link, an app or a move to another chat app", "link"),
                 ("No", fine("Nothing asked for and nothing pushed: if it is unwanted contact, consider Spam or "
                             "Harassment.")),
                 help="Read the whole conversation: in romance and investment scams the ask comes after days of "
                      "friendly chat."),
        link=ask("Where does it lead?",
                 ("A fake login, shop or payment page, or an 'investment platform' promising returns", "identity"),
                 ("Only to chatting on WhatsApp, Telegram or e-mail", violation(
                     RESTRICT, WARN, note="Moving off the platform early is a warning sign, not proof: restrict, warn, "
                     "and watch the account.")),
                 ("A genuine site", fine()),
                 help="Open links only in the sandbox. Promised fixed returns and pressure to act now are the "
                      "classic signs."),
        identity=ask("Is the account fake or using someone else's identity: photos found under another name, a "
                     "story that does not add up, or identifiers shared with accounts banned for fraud?",
                     ("Yes", violation(REMOVE, BAN, note="A fraudulent account: ban it. Take down the rest of what "
                                       "it posted from the account's page.")),
                     ("No, or cannot tell", "victims"),
                     help="Search the profile photos, and check Related accounts on this page."),
        victims=ask("Has anyone paid, or do several people report the same ask?",
                    ("Yes", violation(REMOVE, BAN, DEMONETISE, note="Write who paid, how much and how in the rationale: "
                                      "the police may ask.")),
                    ("No: a first attempt", violation(REMOVE, STRIKE))),
    ),
    "SPAM": tree(
        "wave",
        wave=ask("Is it repeated or mass-sent: the same text or link to many people, copy-paste messages, or many "
                 "near-identical posts or accounts?",
                 ("Yes", "automated"),
                 ("No: a single message", "advert"),
                 help="Search for the text or link: other cases with it show the wave."),
        advert=ask("Is it unsolicited advertising: followers or likes for sale, promo codes, adult sites, sent to "
                   "people who did not ask?",
                   ("Yes", violation(REMOVE, WARN)),
                   ("No", fine("A single personal message is not spam, even when unwanted."))),
        automated=ask("Is the account fake or automated: no real profile, created recently, posting faster than a "
                      "person could, or sharing devices or addresses with other spam accounts?",
                      ("Yes", violation(REMOVE, BAN, note="Find the rest of the network through Related accounts and "
                                        "act on it with a bulk decision.")),
                      ("No: a real person over-promoting", violation(REMOVE, STRIKE)),
                      help="Check the account's age and Related accounts."),
    ),
    "IMPERSONATION": tree(
        "poses",
        poses=ask("Does the account present itself as someone else: a real person, a brand, or this platform's staff?",
                  ("Yes", "labelled"),
                  ("No", fine())),
        labelled=ask("Is it clearly labelled as parody, fan or commentary, in its name and bio?",
                     ("Yes", fine("Clearly labelled parody and fan accounts are allowed.")),
                     ("No", "harm")),
        harm=ask("Is it used to deceive for gain or to hurt: asking for money, messaging the real person's contacts, "
                 "posing as support to get logins, or damaging their name?",
                 ("Yes", violation(REMOVE, BAN, note="If it asks for money or logins, say in the rationale that it is "
                                   "also a scam.")),
                 ("No: it uses their name or photos without deceiving anyone yet", violation(REMOVE, WARN)),
                 help="A report from the person or brand impersonated, or their representative, carries weight."),
    ),
    "PROHIBITED_PRODUCTS": tree(
        "item",
        item=ask("Does it offer something the platform bans: weapons or ammunition, drugs or prescription medicine, "
                 "recalled or unsafe goods, wildlife products, stolen goods, or fake documents?",
                 ("Yes", "seller"),
                 ("Allowed with limits: alcohol, tobacco, age-restricted goods", violation(
                     RESTRICT, note="Restrict it rather than remove it, unless it breaks a local law.")),
                 ("No", fine()),
                 help="Read title, photos and description together: sellers use code words ('party supplies', "
                      "'no questions asked') and blurry photos."),
        seller=ask("Is the seller built around such goods: several listings of them, or earlier decisions for "
                   "prohibited products?",
                   ("Yes", violation(REMOVE, DEMONETISE, note="Take the whole shop down from the shop's page "
                                     "(Cascade takedown, after its preview).")),
                   ("No: a single listing", violation(REMOVE, WARN))),
    ),
    "COUNTERFEIT": tree(
        "brand",
        brand=ask("Does the listing use a brand's name, logo or design: in the title, the photos, or hidden in the "
                  "description or tags?",
                  ("Yes", "claim"),
                  ("No", fine("No brand used: if the item is banned or unsafe, review it under Prohibited products."))),
        claim=ask("Does it admit or hint it is not genuine: 'replica', 'AAA', '1:1', 'mirror quality', 'inspired "
                  "by', 'dupe', or is there a notice from the rights holder?",
                  ("Yes", "seller"),
                  ("No: it claims to be genuine", "price")),
        price=ask("Is the price far below the real product's (under about half), are the photos the brand's own "
                  "stock photos, or are the details wrong (logo, stitching, packaging)?",
                  ("Yes", "seller"),
                  ("No: it looks genuine or honestly second-hand", fine(
                      "Genuine resale is allowed. A rights holder who disagrees can send a notice with proof.")),
                  help="Compare with the brand's own price: second-hand sells below retail, rarely at a fraction."),
        seller=ask("Does the seller have many such listings, several brands, or earlier counterfeit decisions?",
                   ("Yes: a counterfeit shop", violation(REMOVE, DEMONETISE, STRIKE, note="Take the whole shop down "
                                                         "from its page (Cascade takedown, after its preview).")),
                   ("No: a one-off", violation(REMOVE, WARN)),
                   help="Look at the shop page and Earlier decisions."),
    ),
    "UNDERAGE_USER": tree(
        "says",
        says=ask("Does the account say it is under the minimum age: an age or birth year, a school year or grade, "
                 "'I'm 15'?",
                 ("Yes", "sexual"),
                 ("No", "signs"),
                 help="The minimum age is 18 on dating apps and 13 elsewhere unless the app sets another. Bios and "
                      "messages count, not only the registered birth date."),
        signs=ask("Do other signs point to a minor: school uniform or classroom photos, talk of school, parents or "
                  "curfews, a young face or body, others calling them a kid?",
                  ("Several strong signs", "sexual"),
                  ("One weak sign, or none", fine("Not enough to act: write what you saw in a comment so the next "
                                                  "reviewer can build on it."))),
        sexual=ask("Is the minor involved in anything sexual: sexual messages or images, or adults approaching them "
                   "sexually?",
                   ("Yes", violation(BAN, note="Child-safety route: " + IMMINENT_HARM + "Then decide the adults' "
                                     "accounts under Grooming or CSAM so an NCMEC report is made. The ban protects "
                                     "the child; it is not a punishment.")),
                   ("No", violation(SUSPEND, note="Suspend until the person proves their age through an appeal; if "
                                    "they do not, the account stays closed."))),
    ),
    "MISINFORMATION": tree(
        "claim",
        claim=ask("Does it make a factual claim (not an opinion, a joke or satire) that a trusted source (health "
                  "authority, election official, fact-checker) has shown to be false?",
                  ("Yes", "harm"),
                  ("No, or not yet checked", fine("Unverified is not false: label only with a fact-check to point "
                                                  "to.")),
                  help="Quote the fact-check in the rationale."),
        harm=ask("Could it cause direct harm: dangerous health advice (fake cures, stop your medicine), wrong voting "
                 "dates or places, or a hoax during an emergency?",
                 ("Yes", violation(REMOVE)),
                 ("No: false, but not directly harmful", "reach")),
        reach=ask("Is it spreading: high reach, shared by many accounts, or part of a coordinated campaign?",
                  ("Yes", violation(RESTRICT, LABEL)),
                  ("No", violation(LABEL))),
    ),
    "OTHER": tree(
        "rule",
        rule=ask("Does it break a rule of the terms of service that no other policy covers?",
                 ("Yes", "harm"),
                 ("No", fine("If another policy fits better, choose it above.")),
                 help="Name the rule in the rationale: it goes into the statement of reasons."),
        harm=ask("Does it hurt others, or repeat something the account was warned about?",
                 ("Yes", violation(REMOVE, STRIKE)),
                 ("No: minor, and the first time", violation(REMOVE, WARN))),
    ),
}
