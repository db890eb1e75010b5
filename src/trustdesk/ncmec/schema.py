"""Checking a document against NCMEC's schema (`cyber_tipline.xsd`, shipped with the package).

Nothing is sent that does not validate: the report page shows the result, and submitting
refuses a report whose XML does not pass.
"""

from __future__ import annotations

import threading
from functools import cache
from importlib.resources import files

from lxml import etree

XSD_NAME = "cyber_tipline.xsd"
# A schema keeps the errors of its last validation: one validation at a time reads them.
_LOCK = threading.Lock()


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.fromstring(files("trustdesk.ncmec").joinpath(XSD_NAME).read_bytes()))


def problems(document: bytes) -> list[str]:
    """Why `document` is not a valid CyberTipline document (line and message); empty if it is."""
    try:
        tree = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"malformed XML: {exc}"]
    schema = _schema()
    with _LOCK:
        if schema.validate(tree):
            return []
        return [f"line {e.line}: {e.message}" for e in schema.error_log]
