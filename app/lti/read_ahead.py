"""Reading ahead: the items of an iterator produced on a helper thread, a few ahead of the consumer, so a member
sync's next roster page is on its way while this one is planned."""
from __future__ import annotations

import queue
import threading
from typing import Any, Iterator

_END = object()


def read_ahead(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Produce `items` on a helper thread, up to `depth` ahead of the consumer, so the next page is on its way
    while this one is processed. The helper must not need the app or the database (use a detached connector);
    its exceptions are raised here. Leaving the loop early stops the helper."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((None, item)):
                    return
            put((None, _END))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which raises it
            put((error, None))

    threading.Thread(target=produce, name="courseport-read-ahead", daemon=True).start()
    try:
        while True:
            error, item = buffer.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()
