"""Transfer events held back while a run still plans, then told in one go.

Copies that begin while planning goes on (see :meth:`scraper_core.scrape.Scrape.copy_early`)
report bytes and blobs before the run knows its byte total and shows its progress: told then,
a progress bar not yet drawn would miss them. They are held until :meth:`HeldEvents.release`,
which the copy calls once its progress is shown; from then on every event passes straight on.
What is held is one number and one line per blob copied so far, as the plans hold anyway.
"""

from __future__ import annotations

import threading

from scraper_core.errors import DestinationUnusableError
from scraper_core.plan import BlobCopy
from scraper_core.transfer import BlobOutcome, ImageResult, TransferEvents


class HeldEvents:
    """Passes events on to ``events``; bytes and blobs only once :meth:`release` is called."""

    def __init__(self, events: TransferEvents) -> None:
        self.events = events
        self._lock = threading.Lock()
        self._released = False
        self._bytes = 0
        self._blobs: list[tuple[BlobCopy, BlobOutcome]] = []

    def release(self) -> None:
        """Tell what was held, in the order it happened, and hold nothing from now on."""
        with self._lock:
            # Under the lock: an event told meanwhile waits, so none overtakes those held.
            self._released = True
            if self._bytes:
                self.events.bytes_done(self._bytes)
            for blob, outcome in self._blobs:
                self.events.blob_done(blob, outcome)
            self._bytes, self._blobs = 0, []

    def bytes_done(self, size: int) -> None:
        with self._lock:
            if not self._released:
                self._bytes += size
                return
        self.events.bytes_done(size)

    def blob_done(self, blob: BlobCopy, outcome: BlobOutcome) -> None:
        with self._lock:
            if not self._released:
                self._blobs.append((blob, outcome))
                return
        self.events.blob_done(blob, outcome)

    def image_done(self, result: ImageResult) -> None:
        self.events.image_done(result)

    def destination_unusable(self, error: DestinationUnusableError) -> None:
        # Optional for events (see Transfer._announce_unusable): told only to those that hear it.
        announce = getattr(self.events, "destination_unusable", None)
        if callable(announce):
            announce(error)
