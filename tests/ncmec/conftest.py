from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ncmec.sandbox import Tipline, serving_tipline
from tests.web.office import office  # noqa: F401 - the review office fixture


@pytest.fixture
def tipline() -> Iterator[Tipline]:
    with serving_tipline() as served:
        yield served
