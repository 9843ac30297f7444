"""Link files checked from a listing instead of a GET each, where that pays.

A layer or revision link (``<repo>/_layers/sha256/<hex>/link``) can hold only one thing: the
digest its path names (71 bytes, ``sha256:<hex>``). A listing gives each key's ETag, which for
an object written in one PUT (as distribution writes links) is the MD5 of its bytes. So a
listed link whose ETag is the MD5 of the bytes its path calls for holds those bytes, and needs
no GET. (Finding other bytes with the same MD5 is a second preimage, which MD5 still resists;
a link that does not match, an ETag that is not an MD5 (multipart, SSE-KMS), or a key the
listing did not reach is read with a GET as before.)

When it pays (the rule): a listing costs a request per 1,000 keys and grows with the
repository, not with the images a run copies, so a directory is listed only once a run has
read :data:`LISTING_MIN` links below it (those are read with a GET each), and then at most
:data:`MAX_LISTING_PAGES` pages of it: a run that reads few links of a huge repository pays
nothing, one that reads many saves a GET for each link the pages cover. Listings of at most
:data:`MAX_LISTINGS` directories are kept (memory stays bounded over any number of
repositories; planning goes repository by repository).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable

#: Links read with a GET in one directory before the directory is listed.
LISTING_MIN = 8
#: Pages (1,000 keys each on S3) one directory's listing reads at most.
MAX_LISTING_PAGES = 4
#: Directories whose listings are kept at once.
MAX_LISTINGS = 64

# distribution's link directories whose link content is named by the path itself.
_LINK_PATH = re.compile(
    r"^(?P<directory>/.+/(?:_layers|_manifests/revisions))/"
    r"(?P<algorithm>[a-z0-9]+)/(?P<hex>[a-f0-9]{32,128})/link$"
)

#: Lists ``directory``: storage path -> ETag (quotes removed) of each file below it.
ListDirectory = Callable[[str], dict[str, str]]


def expected_link(path: str) -> tuple[str, bytes] | None:
    """The link directory of ``path`` and the bytes the link must hold; None: not such a link."""
    match = _LINK_PATH.match(path)
    if match is None:
        return None
    content = f"{match['algorithm']}:{match['hex']}".encode("ascii")
    return match["directory"], content


class _Directory:
    def __init__(self) -> None:
        self.reads = 0
        self.etags: dict[str, str] | None = None
        self.lock = threading.Lock()


class LinkListings:
    """Answers link reads from listings of their directories (see the module docstring)."""

    def __init__(self, list_directory: ListDirectory) -> None:
        self._list = list_directory
        self._directories: OrderedDict[str, _Directory] = OrderedDict()
        self._lock = threading.Lock()

    def _directory(self, name: str) -> _Directory:
        with self._lock:
            directory = self._directories.get(name)
            if directory is None:
                directory = self._directories[name] = _Directory()
                while len(self._directories) > MAX_LISTINGS:
                    self._directories.popitem(last=False)
            else:
                self._directories.move_to_end(name)
            return directory

    def content(self, path: str) -> bytes | None:
        """The link's bytes if the listing vouches for them; None: read it with a GET."""
        expected = expected_link(path)
        if expected is None:
            return None
        name, content = expected
        directory = self._directory(name)
        # Held while listing: readers of the same directory wait for the listing rather than
        # send the GETs it is about to save; other directories go on.
        with directory.lock:
            directory.reads += 1
            if directory.etags is None:
                if directory.reads < LISTING_MIN:
                    return None
                directory.etags = self._list(name)
            etag = directory.etags.get(path)
        if etag is not None and etag == hashlib.md5(content, usedforsecurity=False).hexdigest():
            return content
        return None
