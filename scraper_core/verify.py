"""Check a storage tree the way a registry would use it, reading every byte it depends on.

Every tag must resolve to a manifest whose graph is complete (the planner checks links and
manifest digests), every blob an image needs must hash to its digest, no ``_layers`` or
revision link may point at a missing blob. Blobs no link reaches are reported as orphans:
harmless to a registry, but space a shallow clone should not have.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from scraper_core import layout
from scraper_core.digest import Digest, parse_link
from scraper_core.driver import CheckedDriver
from scraper_core.errors import PathNotFoundError, ScraperError
from scraper_core.inventory import list_repositories, list_tags
from scraper_core.plan import Planner
from scraper_core.reference import Reference
from scraper_core.transfer import CHUNK_SIZE


@dataclass
class VerifyReport:
    repositories: int = 0
    tags: int = 0
    blobs_verified: int = 0
    bytes_verified: int = 0
    problems: list[str] = field(default_factory=list)
    orphans: list[Digest] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class Verifier:
    def __init__(self, driver: CheckedDriver, *, jobs: int = 4) -> None:
        self.driver = driver
        self.jobs = jobs
        self.planner = Planner(driver)
        self.report = VerifyReport()
        #: Every blob some tag or link needs, with its expected size when known.
        self.needed: dict[Digest, int | None] = {}

    def check_reference(self, reference: Reference) -> None:
        try:
            plan = self.planner.plan(reference)
        except ScraperError as exc:
            self.report.problems.append(f"{reference}: {exc}")
            return
        for blob in plan.blobs:
            self.needed[blob.digest] = blob.size

    def check_links(self, name: str) -> None:
        base = layout.repository_path(name)
        for links in (f"{base}/_layers/sha256", f"{base}/_manifests/revisions/sha256"):
            try:
                entries = self.driver.list_dir(links)
            except PathNotFoundError:
                continue
            for entry in entries:
                self._check_link(f"{entry}/link")

    def _check_link(self, path: str) -> None:
        try:
            digest = parse_link(self.driver.get_content(path), path)
            size = self.driver.stat(layout.blob_data_path(digest)).size
        except PathNotFoundError as exc:
            self.report.problems.append(f"dangling link {path}: {exc}")
            return
        except ScraperError as exc:
            self.report.problems.append(str(exc))
            return
        self.needed.setdefault(digest, size)

    def hash_blobs(self) -> None:
        with ThreadPoolExecutor(self.jobs, thread_name_prefix="verify") as pool:
            for problem, size in pool.map(self._hash_one, list(self.needed.items())):
                if problem:
                    self.report.problems.append(problem)
                else:
                    self.report.blobs_verified += 1
                    self.report.bytes_verified += size

    def _hash_one(self, item: tuple[Digest, int | None]) -> tuple[str | None, int]:
        digest, expected = item
        hasher, size = digest.hasher(), 0
        try:
            with self.driver.reader(layout.blob_data_path(digest)) as reader:
                while chunk := reader.read(CHUNK_SIZE):
                    hasher.update(chunk)
                    size += len(chunk)
        except ScraperError as exc:
            return f"blob {digest}: {exc}", 0
        if expected is not None and size != expected:
            return f"blob {digest}: {size} bytes, expected {expected}", 0
        if hasher.hexdigest() != digest.hex:
            return f"blob {digest} is corrupt: its content hashes to sha256:{hasher.hexdigest()}", 0
        return None, size

    def find_orphans(self) -> None:
        try:
            files = list(self.driver.walk(layout.BLOBS_ROOT))
        except PathNotFoundError:
            return
        for info in files:
            parts = info.path.split("/")
            if parts[-1] != "data" or len(parts) < 4:
                continue
            try:
                digest = Digest.parse(f"{parts[-4]}:{parts[-2]}")
            except ScraperError:
                self.report.problems.append(f"stray file in blobs: {info.path}")
                continue
            if digest not in self.needed:
                self.report.orphans.append(digest)


def verify_storage(driver: CheckedDriver, *, jobs: int = 4) -> VerifyReport:
    """Every repository, tag, link and blob of a storage; orphans listed."""
    verifier = Verifier(driver, jobs=jobs)
    for name in list_repositories(driver):
        verifier.report.repositories += 1
        for tag in list_tags(driver, name):
            verifier.report.tags += 1
            verifier.check_reference(Reference(name, tag))
        verifier.check_links(name)
    verifier.hash_blobs()
    verifier.find_orphans()
    return verifier.report


def verify_images(
    driver: CheckedDriver, references: Sequence[Reference], *, jobs: int = 4
) -> VerifyReport:
    """Only what the given references need (no orphan search: that needs the whole tree)."""
    verifier = Verifier(driver, jobs=jobs)
    for reference in references:
        verifier.report.tags += 1
        verifier.check_reference(reference)
    verifier.hash_blobs()
    return verifier.report
