"""One blob into one repository: a blob upload session, checked while it streams.

Bytes come from the source through ``open_stream(offset)`` one chunk at a time (at most
``chunk_size`` in memory), are hashed before they leave, and are committed (the final ``PUT
?digest=``) only when their sha256 and size are the blob's; otherwise the session is cancelled.
A blob no larger than a chunk goes in one PUT; a larger one in PATCH chunks. When a connection
drops, the registry is asked where the session stands (GET on it: its ``Range`` header) and the
upload goes on from there; a session the registry has lost starts again from byte 0.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlencode

from registry_scraper_registry.transport import Answer, ConnectionDroppedError, Transport
from scraper_core.digest import Digest
from scraper_core.errors import DigestMismatchError, ScraperError, ShortReadError, StorageError

OpenStream = Callable[[int], BinaryIO]

#: New sessions or resumptions one blob may take before its upload is given up.
MAX_ATTEMPTS = 5
OCTETS = {"Content-Type": "application/octet-stream"}


@dataclass
class _Session:
    url: str  # the registry's latest Location for it: 2.8 keeps the session state in it
    offset: int  # bytes the registry holds
    hasher: hashlib._Hash  # over exactly those bytes


class BlobUpload:
    def __init__(
        self,
        transport: Transport,
        repository: str,
        digest: Digest,
        size: int,
        open_stream: OpenStream,
        chunk_size: int,
    ) -> None:
        self._transport = transport
        self._repository = repository
        self._digest = digest
        self._size = size
        self._open_stream = open_stream
        self._chunk_size = chunk_size
        self._scopes = (f"repository:{repository}:pull,push",)
        self._what = f"{transport.location.host}/{repository}@{digest.short}"

    def run(self) -> None:
        session = self._start()
        try:
            for _attempt in range(MAX_ATTEMPTS):
                try:
                    self._send_from(session)
                    return
                except ConnectionDroppedError:
                    if self._committed():
                        return  # the commit went through; only its answer was lost
                    session = self._where_is(session)
            raise StorageError(
                "registry", self._what, f"upload failed {MAX_ATTEMPTS} times on dropped connections"
            )
        except BaseException:
            # Whatever stopped it (bytes that are not the blob, a source that failed, a refusal),
            # nothing is committed and the session is not left open.
            self._cancel(session)
            raise

    # Sessions ---------------------------------------------------------------------------------

    def _start(self) -> _Session:
        for _attempt in range(MAX_ATTEMPTS):
            try:
                answer = self._request("POST", f"/v2/{self._repository}/blobs/uploads/")
            except ConnectionDroppedError:
                continue
            if answer.status == 202 and answer.headers.get("Location"):
                return _Session(answer.headers["Location"], 0, self._digest.hasher())
            raise self._transport.fail(f"{self._what}: starting upload", answer)
        raise StorageError("registry", self._what, "no upload session: connections dropped")

    def _committed(self) -> bool:
        try:
            answer = self._request("HEAD", f"/v2/{self._repository}/blobs/{self._digest}")
        except ConnectionDroppedError:
            return False
        return answer.status == 200 and answer.headers.get("Content-Length") == str(self._size)

    def _where_is(self, session: _Session) -> _Session:
        """The session as the registry has it, or a new one when it lost (or never had) it."""
        try:
            answer = self._request("GET", session.url)
        except ConnectionDroppedError:
            return self._start()
        held = _held_bytes(answer) if answer.status == 204 else None
        if held is None or held > session.offset + self._chunk_size or held > self._size:
            return self._start()
        url = answer.headers.get("Location") or session.url
        if held == session.offset:
            return _Session(url, held, session.hasher)
        return _Session(url, held, self._hash_prefix(held))

    def _hash_prefix(self, length: int) -> hashlib._Hash:
        # The registry holds part of a chunk this side never saw confirmed: hash those bytes
        # again from the source rather than trust them.
        hasher = self._digest.hasher()
        with self._open_stream(0) as stream:
            left = length
            while left:
                piece = stream.read(min(left, self._chunk_size))
                if not piece:
                    raise ShortReadError(f"registry: {self._what}: source ended early")
                hasher.update(piece)
                left -= len(piece)
        return hasher

    # Bytes ------------------------------------------------------------------------------------

    def _send_from(self, session: _Session) -> None:
        with self._open_stream(session.offset) as stream:
            if session.offset == 0 and self._size <= self._chunk_size:
                self._put_whole(session, stream)
                return
            while session.offset < self._size:
                wanted = min(self._chunk_size, self._size - session.offset)
                chunk = _read_exactly(stream, wanted)
                if len(chunk) < wanted:
                    got = session.offset + len(chunk)
                    self._refuse(session, f"source holds {got} bytes, not {self._size}")
                self._patch(session, chunk)
            self._check(session, session.hasher, stream)
            self._commit(session, None)

    def _put_whole(self, session: _Session, stream: BinaryIO) -> None:
        data = _read_exactly(stream, self._size)
        hasher = self._digest.hasher()
        hasher.update(data)
        self._check(session, hasher, stream, read=len(data))
        self._commit(session, data)

    def _patch(self, session: _Session, chunk: bytes) -> None:
        """Send one chunk; the session (kept by the caller across a drop) moves past it."""
        end = session.offset + len(chunk)
        headers = {**OCTETS, "Content-Range": f"{session.offset}-{end - 1}"}
        answer = self._request("PATCH", session.url, headers=headers, body=chunk)
        if answer.status != 202:
            raise self._transport.fail(f"{self._what}: sending bytes", answer)
        session.hasher.update(chunk)
        session.url = answer.headers.get("Location") or session.url
        session.offset = end

    def _check(
        self, session: _Session, hasher: hashlib._Hash, stream: BinaryIO, read: int | None = None
    ) -> None:
        total = session.offset if read is None else read
        if total != self._size or stream.read(1):
            held = "more than" if total == self._size else f"{total} bytes, not"
            self._refuse(session, f"source holds {held} {self._size}")
        actual = Digest(self._digest.algorithm, hasher.hexdigest())
        if actual != self._digest:
            self._refuse(session, f"source bytes hash to {actual.short}, not the digest")

    def _refuse(self, session: _Session, why: str) -> None:
        raise DigestMismatchError(f"registry: {self._what}: {why}; nothing committed")

    def _commit(self, session: _Session, data: bytes | None) -> None:
        separator = "&" if "?" in session.url else "?"
        url = f"{session.url}{separator}{urlencode({'digest': str(self._digest)})}"
        answer = self._request("PUT", url, headers=OCTETS, body=data or b"")
        if answer.status != 201:
            raise self._transport.fail(f"{self._what}: committing", answer)

    def _cancel(self, session: _Session) -> None:
        # Best effort: a session left behind is purged by the registry, never served, and
        # distribution wants a "delete" right to cancel one, which a pusher may lack.
        with contextlib.suppress(ConnectionDroppedError, ScraperError):
            self._request("DELETE", session.url)

    def _request(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Answer:
        return self._transport.request(
            method,
            url,
            scopes=self._scopes,
            what=self._what,
            headers=headers,
            body=body if method in ("PUT", "PATCH", "POST") else None,
            resumable=True,
        )


def _held_bytes(answer: Answer) -> int | None:
    """From ``Range: 0-N`` the bytes the registry holds (N + 1); None when it cannot be told.

    distribution 2.8 says ``0-0`` both for no byte and for one (it subtracts one only from a
    size above zero): ambiguous, so the upload starts again rather than leave a hole."""
    text = answer.headers.get("Range", "")
    start, dash, end = text.partition("-")
    if start.strip() != "0" or not dash:
        return None
    try:
        last = int(end)
    except ValueError:
        return None
    if last == 0:
        return None
    return max(last + 1, 0)


def _read_exactly(stream: BinaryIO, length: int) -> bytes:
    """``length`` bytes, fewer only at the end of the stream (a read may return less)."""
    pieces = []
    left = length
    while left:
        piece = stream.read(left)
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)
