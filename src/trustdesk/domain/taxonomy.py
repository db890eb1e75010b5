"""External taxonomies TrustDesk maps its policies onto.

Values are copied exactly from the DSA Transparency Database API and NCMEC's CyberTipline
schema (see `docs/specs/regulatory.md`); they are sent to those services verbatim.
"""

from __future__ import annotations

DSA_CATEGORIES: frozenset[str] = frozenset(
    "STATEMENT_CATEGORY_" + name
    for name in (
        "ANIMAL_WELFARE CONSUMER_INFORMATION CYBER_VIOLENCE CYBER_VIOLENCE_AGAINST_WOMEN "
        "DATA_PROTECTION_AND_PRIVACY_VIOLATIONS ILLEGAL_OR_HARMFUL_SPEECH "
        "INTELLECTUAL_PROPERTY_INFRINGEMENTS NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS "
        "NOT_SPECIFIED_NOTICE OTHER_VIOLATION_TC PROTECTION_OF_MINORS RISK_FOR_PUBLIC_SECURITY "
        "SCAMS_AND_FRAUD SELF_HARM UNSAFE_AND_PROHIBITED_PRODUCTS VIOLENCE"
    ).split()
)

DSA_KEYWORDS: frozenset[str] = frozenset(
    "KEYWORD_" + name
    for name in (
        "ADULT_SEXUAL_MATERIAL AGE_SPECIFIC_RESTRICTIONS AGE_SPECIFIC_RESTRICTIONS_MINORS "
        "ANIMAL_HARM BIOMETRIC_DATA_BREACH BULLYING_AGAINST_GIRLS CHILD_SEXUAL_ABUSE_MATERIAL "
        "CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE CONTENT_PROMOTING_EATING_DISORDERS COORDINATED_HARM "
        "COPYRIGHT_INFRINGEMENT CYBER_BULLYING_INTIMIDATION CYBER_HARASSMENT "
        "CYBER_HARASSMENT_AGAINST_WOMEN CYBER_INCITEMENT CYBER_STALKING "
        "CYBER_STALKING_AGAINST_WOMEN DATA_FALSIFICATION DEFAMATION DESIGN_INFRINGEMENT "
        "DISCRIMINATION FEMALE_GENDERED_DISINFORMATION GEOGRAPHIC_INDICATIONS_INFRINGEMENT "
        "GEOGRAPHICAL_REQUIREMENTS GOODS_SERVICES_NOT_PERMITTED GROOMING_SEXUAL_ENTICEMENT_MINORS "
        "HATE_SPEECH HIDDEN_ADVERTISEMENT HUMAN_EXPLOITATION HUMAN_TRAFFICKING "
        "ILLEGAL_ORGANIZATIONS IMPERSONATION_ACCOUNT_HIJACKING INAUTHENTIC_ACCOUNTS "
        "INAUTHENTIC_LISTINGS INAUTHENTIC_USER_REVIEWS INCITEMENT_AGAINST_WOMEN "
        "INCITEMENT_VIOLENCE_HATRED INSUFFICIENT_INFORMATION_ON_TRADERS LANGUAGE_REQUIREMENTS "
        "MISINFORMATION_DISINFORMATION MISLEADING_INFO_CONSUMER_RIGHTS "
        "MISLEADING_INFO_GOODS_SERVICES MISSING_PROCESSING_GROUND NON_CONSENSUAL_IMAGE_SHARING "
        "NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN NON_CONSENSUAL_MATERIAL_DEEPFAKE "
        "NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN NONCOMPLIANCE_PRICING NUDITY "
        "PATENT_INFRINGEMENT PHISHING PROHIBITED_PRODUCTS PYRAMID_SCHEMES RIGHT_TO_BE_FORGOTTEN "
        "RISK_ENVIRONMENTAL_DAMAGE RISK_PUBLIC_HEALTH SELF_MUTILATION STALKING SUICIDE "
        "TERRORIST_CONTENT TRADE_SECRET_INFRINGEMENT TRADEMARK_INFRINGEMENT "
        "TRAFFICKING_WOMEN_GIRLS UNLAWFUL_SALE_ANIMALS UNSAFE_CHALLENGES UNSAFE_PRODUCTS "
        "VIOLATION_EU_LAW VIOLATION_NATIONAL_LAW OTHER"
    ).split()
)

NCMEC_INCIDENT_TYPES: frozenset[str] = frozenset(
    {
        "Child Pornography (possession, manufacture, and distribution)",
        "Child Sex Trafficking",
        "Child Sex Tourism",
        "Child Sexual Molestation",
        "Misleading Domain Name",
        "Misleading Words or Digital Images on the Internet",
        "Online Enticement of Children for Sexual Acts",
        "Unsolicited Obscene Material Sent to a Child",
    }
)

# EU/EEA member states (ISO 3166-1 alpha-2), for DSA territorial scope.
EU_COUNTRIES: frozenset[str] = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)
EEA_EXTRA: frozenset[str] = frozenset({"IS", "LI", "NO"})


def privacy_regime(country: str | None, region: str | None = None) -> str:
    """Which data-protection law governs an account's requests (see specs/regulatory.md §3)."""
    country = (country or "").upper()
    region = (region or "").upper()
    if country in EU_COUNTRIES or country in EEA_EXTRA:
        return "GDPR"
    if country == "GB":
        return "UK_GDPR"
    if country == "US" and region in ("CA", "US-CA"):
        return "CCPA"
    if country == "BR":
        return "LGPD"
    if country == "CA" and region in ("QC", "CA-QC"):
        return "QUEBEC_LAW25"
    return "NONE"


def in_dsa_scope(country: str | None) -> bool:
    """Whether a recipient in this country is covered by the EU Digital Services Act."""
    return (country or "").upper() in EU_COUNTRIES
