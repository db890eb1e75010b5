from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ncmec.sandbox import Tipline, serving_tipline


@pytest.fixture
def tipline() -> Iterator[Tipline]:
    with serving_tipline() as served:
        yield served
