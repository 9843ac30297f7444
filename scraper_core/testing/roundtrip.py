"""A registry round trip through a driver, with the real ``scrape`` command.

:class:`RoundTripSuite` is what a user does with a driver: a registry's tree lies in the
driver's storage, ``scrape`` copies chosen images out of it to a local directory, ``scrape
verify`` accepts the copy, and the copy holds, byte for byte, exactly the files a registry
reads to serve those images. A driver that can be a destination is also written to: ``scrape``
copies a local registry tree into a fresh location of the driver, and reading it back through
the driver gives the same bytes.

Each ``scrape`` is a separate process (``python -c 'from scraper_core.cli import main'``) with
this process's environment, so the driver is found through its entry point, as a user's
``scrape`` finds it, and every option goes through the command line. Each process may take
:attr:`RoundTripSuite.scrape_timeout` seconds; then the test fails, it never hangs.

A plugin's test module subclasses it and gives the ``new_location`` fixture::

    class TestFooRoundTrip(RoundTripSuite):
        @pytest.fixture
        def new_location(self, tmp_path):
            return fresh_roots("foo", str(tmp_path))
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from scraper_core import layout
from scraper_core.checked import CheckedDriver
from scraper_core.testing.memory import MemoryDriver
from scraper_core.testing.scrapes import stored_files
from scraper_core.testing.tree import SyntheticImage, TreeWriter

#: The command line that runs ``scrape`` with this interpreter (its console script may not be
#: on PATH in a virtual environment that is not activated).
SCRAPE = (sys.executable, "-c", "from scraper_core.cli import main; main()")


@dataclass(frozen=True)
class StorageLocation:
    """Where a scrape reads or writes: what ``--storage``, ``--data-dir`` and ``-o`` say."""

    storage: str
    location: str
    options: Mapping[str, str] = field(default_factory=dict)

    def source_args(self) -> list[str]:
        pairs = [f"--storage-option={key}={value}" for key, value in self.options.items()]
        return ["--storage", self.storage, "--data-dir", self.location, *pairs]

    def output_args(self) -> list[str]:
        pairs = [f"--output-storage-option={key}={value}" for key, value in self.options.items()]
        return ["--output-storage", self.storage, "--output-dir", self.location, *pairs]

    def open(self, *, read_only: bool) -> CheckedDriver:
        """The driver on this location, found through the installed plugins as ``scrape``
        finds it."""
        from scraper_core.plugins import DriverRegistry

        return DriverRegistry().open(self.storage, self.location, self.options, read_only=read_only)


#: A fresh, empty location of the driver under test, each time it is called.
NewLocation = Callable[[], StorageLocation]


def fresh_roots(storage: str, base: str, **options: str) -> NewLocation:
    """Locations ``BASE/round-trip-<n>`` of the driver, a new ``n`` at each call: fresh root
    directories in one bucket, container or folder."""
    roots = itertools.count()
    return lambda: StorageLocation(storage, f"{base}/round-trip-{next(roots)}", options)


@dataclass
class RegistryTree:
    """What :meth:`RoundTripSuite.write_tree` wrote: the images asked for and the others."""

    wanted: list[SyntheticImage]
    #: Index digests by ``repository:tag`` (their children are in ``wanted`` too).
    indexes: dict[str, str]
    unwanted: list[SyntheticImage]

    @property
    def references(self) -> list[str]:
        return ["team/app:v1", "team/multi:v1"]


def registry_files(tree: RegistryTree) -> set[str]:
    """The paths a registry reads to serve the wanted images (their tags, links and blobs)."""
    from scraper_core.digest import Digest

    paths: set[str] = set()
    for image in tree.wanted:
        paths |= {layout.blob_data_path(blob) for blob in image.blobs}
        paths |= {layout.layer_link_path(image.name, blob) for blob in image.blobs[1:]}
        paths.add(layout.revision_link_path(image.name, image.manifest))
        for tag in image.tags:
            paths.add(layout.tag_current_link_path(image.name, tag))
            paths.add(layout.tag_index_link_path(image.name, tag, image.manifest))
    for reference, text in tree.indexes.items():
        name, tag = reference.rsplit(":", 1)
        digest = Digest.parse(text)
        paths |= {
            layout.blob_data_path(digest),
            layout.revision_link_path(name, digest),
            layout.tag_current_link_path(name, tag),
            layout.tag_index_link_path(name, tag, digest),
        }
    return paths


def _read_by_registry(path: str) -> bool:
    return path.startswith("/docker/registry/v2/blobs/") or any(
        part in path for part in ("/_layers/", "/_manifests/")
    )


class RoundTripSuite:
    """Scrapes a registry tree out of (and into) the driver with the real ``scrape``.

    Needs the fixture ``new_location``: a callable returning a fresh, empty
    :class:`StorageLocation` of the driver each time (with the options it needs, e.g. an
    endpoint); an emulator's credentials belong in this process's environment.
    """

    #: False for a driver that cannot be a destination (no writer): only reads are tried.
    destination: ClassVar[bool] = True
    #: Seconds one ``scrape`` process may take, generous for emulators on a loaded machine.
    scrape_timeout: ClassVar[float] = 600.0
    #: Layer sizes of the wanted image: one over 5 MiB and odd, so multipart uploads, chunked
    #: writes and ranged reads all run; one small.
    layer_sizes: ClassVar[tuple[int, ...]] = ((5 << 20) + 4099, 3001)

    def write_tree(self, storage: CheckedDriver) -> RegistryTree:
        """A registry-written-like tree: a tagged image, a multi-platform index, an image
        sharing a layer, and tags that are not asked for."""
        writer = TreeWriter(storage)
        layers = [os.urandom(size) for size in self.layer_sizes]
        app = writer.image("team/app", "v1", layers=layers)
        other = writer.image("team/app", "v2", layer_sizes=(2000,))
        children = [writer.image("team/multi", None, arch=arch) for arch in ("amd64", "arm64")]
        index = writer.index("team/multi", "v1", children)
        # Another repository holding one of the same layers: its links must not be copied.
        writer.image("base/lib", "v1", layers=layers[-1:])
        return RegistryTree([app, *children], {"team/multi:v1": str(index)}, [other])

    def scrape(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``scrape ARGS`` in a new process; fail the test on a non-zero exit or timeout."""
        command = [*SCRAPE, *args]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=self.scrape_timeout,
                env=dict(os.environ),
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"scrape {' '.join(args)}: no exit after {exc.timeout:g} s")
        assert done.returncode == 0, (
            f"scrape {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
        return done

    def verify(self, where: StorageLocation, tree: RegistryTree) -> None:
        done = self.scrape("verify", "--json", *where.source_args(), *tree.references)
        report = json.loads(done.stdout)
        blobs = {path for path in registry_files(tree) if path.endswith("/data")}
        assert report["ok"] is True, report
        assert report["blobs_verified"] == len(blobs), report

    def check_copy(
        self, copy: CheckedDriver, source: Mapping[str, bytes], tree: RegistryTree
    ) -> None:
        copied = {
            path: data for path, data in stored_files(copy).items() if _read_by_registry(path)
        }
        assert set(copied) == registry_files(tree), (
            "the copy does not hold exactly the files a registry reads for the images: "
            f"missing {sorted(registry_files(tree) - set(copied))[:5]}, "
            f"extra {sorted(set(copied) - registry_files(tree))[:5]}"
        )
        differing = [path for path, data in copied.items() if source.get(path) != data]
        assert not differing, f"copied files differ from the source: {differing[:5]}"

    def test_scrape_copies_a_registry_tree_out_of_the_driver(
        self, new_location: NewLocation, tmp_path: Path
    ) -> None:
        where = new_location()
        writable = where.open(read_only=False)
        tree = self.write_tree(writable)
        # As the core does at the end of a run: a driver may buffer until then.
        writable.close()
        source = stored_files(where.open(read_only=True))
        copy = StorageLocation("local", str(tmp_path / "copy"))

        self.scrape(*where.source_args(), *copy.output_args(), *tree.references)
        self.verify(copy, tree)
        self.check_copy(copy.open(read_only=True), source, tree)

    def test_scrape_copies_a_registry_tree_into_the_driver(
        self, new_location: NewLocation, tmp_path: Path
    ) -> None:
        if not self.destination:
            pytest.skip("the driver is not a destination")
        memory = CheckedDriver(MemoryDriver(), read_only=False)
        tree = self.write_tree(memory)
        source = stored_files(memory)
        local = tmp_path / "registry"
        for path, data in source.items():
            (local / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            (local / path.lstrip("/")).write_bytes(data)
        where = new_location()

        self.scrape("--data-dir", str(local), *where.output_args(), *tree.references)
        self.verify(where, tree)
        self.check_copy(where.open(read_only=True), source, tree)
        # A second run finds everything there and changes nothing.
        before = stored_files(where.open(read_only=True))
        self.scrape("--data-dir", str(local), *where.output_args(), *tree.references)
        after = stored_files(where.open(read_only=True))
        assert {p: d for p, d in after.items() if _read_by_registry(p)} == {
            p: d for p, d in before.items() if _read_by_registry(p)
        }
