"""One error tree, rooted in :class:`ScraperError`.

The CLI turns any :class:`ScraperError` into a one-line message and a non-zero exit; anything
else is a bug and keeps its traceback. Storage errors carry the driver name and the path, in the
manner of distribution's ``base`` driver wrapper, so a user always sees which backend failed.
"""

from __future__ import annotations


class ScraperError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigurationError(ScraperError):
    """Bad command line, options or plugin set-up."""


class PluginError(ConfigurationError):
    """A driver could not be found, loaded or built."""


class LocationNotFoundError(ConfigurationError):
    """A driver opened read-only on a location that does not exist (yet).

    Raised by a driver's ``open`` only once its options are known good: a dry run then treats
    the destination as empty, where any other :class:`ConfigurationError` is reported.
    """


class InvalidReferenceError(ScraperError):
    """An image reference does not match distribution's grammar."""


class StorageError(ScraperError):
    """A storage driver failed on one path."""

    def __init__(self, driver: str, path: str, detail: str = "") -> None:
        self.driver = driver
        self.path = path
        self.detail = detail
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"{self.driver}: {self.path}"
        return f"{text}: {self.detail}" if self.detail else text


class PathNotFoundError(StorageError):
    """Nothing is stored at the path."""

    def _message(self) -> str:
        return f"{self.driver}: path not found: {self.path}"


class NotRegularFileError(StorageError):
    """Something is at the path that is neither a regular file nor a directory (a FIFO, a
    device, a socket, a sparse archive member): it has no content a driver reads."""


class InvalidPathError(StorageError):
    """The path is not an absolute, clean, ``/``-separated storage path."""

    def _message(self) -> str:
        return f"{self.driver}: invalid path: {self.path!r}"


class InvalidOffsetError(StorageError):
    """A reader was asked to start at a negative offset."""


class ReadOnlyError(StorageError):
    """A write was attempted on a driver opened read-only (the scrape source)."""

    def _message(self) -> str:
        return f"{self.driver}: refusing to write to read-only storage: {self.path}"


class DestinationUnusableError(StorageError):
    """The destination refuses every write: full (ENOSPC), over quota (EDQUOT) or read-only
    (EROFS). Raised only for destinations; a run stops starting new blobs when it sees one."""

    def __init__(self, driver: str, path: str, reason: str) -> None:
        #: The system's words for why, e.g. "No space left on device".
        self.reason = reason
        super().__init__(driver, path, reason)

    def notice(self) -> str:
        """What an image that was not (fully) copied because of it says."""
        return f"not copied: destination {self.driver} is unusable ({self.reason})"


class ContentError(ScraperError):
    """Stored content is not what the registry layout promises."""


class DigestMismatchError(ContentError):
    """Bytes read for a blob do not hash to its digest (or have the wrong size)."""


class ShortReadError(DigestMismatchError):
    """A blob stream ended early or ran long: often a broken connection, worth a retry."""


class InvalidLinkError(ContentError):
    """A link file does not hold exactly ``sha256:<64 hex>``."""


class ManifestError(ContentError):
    """A manifest cannot be parsed or is of an unknown kind."""


class ImageNotFoundError(ScraperError):
    """The repository, tag or digest named by a reference is not in the source."""
