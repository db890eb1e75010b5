"""Running work in many threads at the same moment, for the concurrency tests on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable


def together(works: list[Callable[[], object]]) -> None:
    """Start every piece of work in its own thread, released at once; re-raise the first error."""
    start, errors = threading.Barrier(len(works)), []

    def run(work: Callable[[], object]) -> None:
        try:
            start.wait()
            work()
        except BaseException as exc:  # a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
