"""What the rules see of an event's subject: its fields and how many media items it has."""

from __future__ import annotations

from tests.conftest import Api
from trustdesk.rules.inputs import Event, build_inputs
from trustdesk.store.models import MediaItem, utcnow


def _subject(api: Api, external_id: str, **fields: str) -> int:
    r = api.post("/api/v1/subjects", {"external_id": external_id, "kind": "listing", **fields})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_the_subject_is_seen_with_its_app_fields_and_media_count(api: Api) -> None:
    with_media = _subject(api, "l1", title="Bike", text="red bike", language="pt", country="BR")
    without = _subject(api, "l2", text="chair")
    with api.db.session() as s:
        s.add_all([MediaItem(subject_id=with_media, position=n, source="url", source_url=f"https://cdn.example/{n}.jpg",
                             status="pending")
                   for n in range(2)])
    with api.db.reader() as s:
        first, second = build_inputs(s, [Event(with_media, "evaluate"), Event(without, "evaluate")], utcnow())
    assert first["subject"] == {"kind": "listing", "app": "dating", "language": "pt", "country": "BR", "title": "Bike",
                                "text": "red bike", "media_count": 2}
    assert (second["subject"]["text"], second["subject"]["media_count"], second["subject"]["language"]) == ("chair", 0, "")
