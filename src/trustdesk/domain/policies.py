"""The seeded policy catalogue: what the community guidelines forbid and how each maps out.

The catalogue is the starting point a new deployment gets; admins edit it afterwards and
every edit makes a new version in the database. Each policy names the actions a reviewer may
take under it and its DSA statement-of-reasons category/keywords (and NCMEC incident type for
child-safety policies), so later artefacts never need a second mapping table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from trustdesk.domain.taxonomy import DSA_CATEGORIES, DSA_KEYWORDS, NCMEC_INCIDENT_TYPES


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


class PolicyError(ValueError):
    """A policy definition is inconsistent; the message names the field."""


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

    def validate(self) -> None:
        if not self.code or not self.code.replace("_", "").isalnum():
            raise PolicyError("code: letters, digits and underscores only")
        if not 1 <= self.severity <= 5:
            raise PolicyError("severity: must be between 1 and 5")
        if self.dsa_category not in DSA_CATEGORIES:
            raise PolicyError(f"dsa_category: unknown value {self.dsa_category!r}")
        for keyword in self.dsa_keywords:
            if keyword not in DSA_KEYWORDS:
                raise PolicyError(f"dsa_keywords: unknown value {keyword!r}")
        if self.ncmec_incident_type and self.ncmec_incident_type not in NCMEC_INCIDENT_TYPES:
            raise PolicyError(f"ncmec_incident_type: unknown value {self.ncmec_incident_type!r}")
        if not self.allowed_actions:
            raise PolicyError("allowed_actions: at least one action is needed")


_CONTENT = (Action.REMOVE, Action.RESTRICT_VISIBILITY, Action.LABEL, Action.WARN, Action.STRIKE)
_ACCOUNT = (Action.SUSPEND, Action.BAN)

CATALOGUE: tuple[PolicySpec, ...] = (
    PolicySpec("HARASSMENT", "Harassment and bullying", 3, _CONTENT + (Action.SUSPEND,),
               "STATEMENT_CATEGORY_CYBER_VIOLENCE",
               ("KEYWORD_CYBER_HARASSMENT", "KEYWORD_CYBER_BULLYING_INTIMIDATION")),
    PolicySpec("HATE_SPEECH", "Hate speech", 4, _CONTENT + _ACCOUNT,
               "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", ("KEYWORD_HATE_SPEECH",)),
    PolicySpec("SEXUAL_CONTENT", "Adult sexual content", 2,
               (Action.REMOVE, Action.AGE_RESTRICT, Action.LABEL, Action.WARN, Action.STRIKE),
               "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", ("KEYWORD_ADULT_SEXUAL_MATERIAL",),
               graphic=True),
    PolicySpec("CSAM", "Child sexual abuse material and exploitation", 5,
               (Action.REMOVE, Action.BAN, Action.CASCADE_TAKEDOWN),
               "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", ("KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",),
               ncmec_incident_type="Child Pornography (possession, manufacture, and distribution)",
               graphic=True),
    PolicySpec("CHILD_GROOMING", "Grooming and enticement of minors", 5,
               (Action.REMOVE, Action.BAN, Action.CASCADE_TAKEDOWN),
               "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
               ("KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",),
               ncmec_incident_type="Online Enticement of Children for Sexual Acts"),
    PolicySpec("NCII", "Non-consensual intimate imagery", 5,
               (Action.REMOVE, Action.STRIKE, Action.SUSPEND, Action.BAN),
               "STATEMENT_CATEGORY_CYBER_VIOLENCE", ("KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",),
               graphic=True),
    PolicySpec("VIOLENT_THREATS", "Violent threats", 4, _CONTENT + _ACCOUNT,
               "STATEMENT_CATEGORY_VIOLENCE", ("KEYWORD_INCITEMENT_VIOLENCE_HATRED",)),
    PolicySpec("GRAPHIC_VIOLENCE", "Graphic violence and gore", 3,
               (Action.REMOVE, Action.AGE_RESTRICT, Action.LABEL, Action.STRIKE),
               "STATEMENT_CATEGORY_VIOLENCE", (), graphic=True),
    PolicySpec("SELF_HARM", "Suicide and self-harm", 4,
               (Action.REMOVE, Action.RESTRICT_VISIBILITY, Action.LABEL),
               "STATEMENT_CATEGORY_SELF_HARM", ("KEYWORD_SUICIDE", "KEYWORD_SELF_MUTILATION"),
               graphic=True),
    PolicySpec("SCAM", "Scams and fraud", 4, _CONTENT + _ACCOUNT + (Action.DEMONETISE,),
               "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", ("KEYWORD_PHISHING",)),
    PolicySpec("SPAM", "Spam and platform manipulation", 2, _CONTENT + _ACCOUNT,
               "STATEMENT_CATEGORY_OTHER_VIOLATION_TC", ("KEYWORD_INAUTHENTIC_ACCOUNTS",)),
    PolicySpec("IMPERSONATION", "Impersonation", 3, (Action.REMOVE, Action.WARN) + _ACCOUNT,
               "STATEMENT_CATEGORY_OTHER_VIOLATION_TC", ("KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",)),
    PolicySpec("PROHIBITED_PRODUCTS", "Prohibited and unsafe products", 3,
               _CONTENT + (Action.DEMONETISE, Action.CASCADE_TAKEDOWN),
               "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS", ("KEYWORD_PROHIBITED_PRODUCTS",)),
    PolicySpec("COUNTERFEIT", "Counterfeit goods and IP infringement", 3,
               _CONTENT + (Action.DEMONETISE, Action.CASCADE_TAKEDOWN),
               "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
               ("KEYWORD_TRADEMARK_INFRINGEMENT",)),
    PolicySpec("UNDERAGE_USER", "Underage user", 4, (Action.SUSPEND, Action.BAN),
               "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", ("KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",)),
    PolicySpec("MISINFORMATION", "Harmful misinformation", 2,
               (Action.LABEL, Action.RESTRICT_VISIBILITY, Action.REMOVE),
               "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
               ("KEYWORD_MISINFORMATION_DISINFORMATION",)),
    PolicySpec("OTHER", "Other terms-of-service violation", 1, _CONTENT,
               "STATEMENT_CATEGORY_OTHER_VIOLATION_TC", ()),
)


def catalogue_by_code() -> dict[str, PolicySpec]:
    return {policy.code: policy for policy in CATALOGUE}
