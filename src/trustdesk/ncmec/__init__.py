"""Reports to NCMEC's CyberTipline (US, 18 U.S.C. §2258A) from child-safety cases.

`builder` gathers a case's facts, `tipline` writes them as the `<report>` and `<fileDetails>`
documents, `schema` checks them against `cyber_tipline.xsd`, `client` speaks NCMEC's web
service, and `reports` keeps each report's filing state. `trustdesk sandbox ncmec` serves the
same protocol locally for the demo and the tests.
"""
