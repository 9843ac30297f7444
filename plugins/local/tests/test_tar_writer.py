"""The tar driver's writers under concurrency: entries never interleave, a cancelled writer
leaves nothing, the one spool beside the archive is shared one blob at a time."""

from __future__ import annotations

import hashlib
import os
import random
import tarfile
import threading
from pathlib import Path

import pytest

from registry_scraper_local import tar as tar_module
from registry_scraper_local.archive_index import INDEX_MEMBER
from registry_scraper_local.tar import TarDriver
from scraper_core.errors import ConfigurationError

CHUNK = 256 * 1024


def test_concurrent_writers_produce_whole_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small memory limit so that many writers need the spool at once.
    monkeypatch.setattr(tar_module, "SPOOL_LIMIT", 300 * 1024)
    archive = tmp_path / "many.tar"
    driver = TarDriver.open(str(archive), {}, read_only=False)
    assert isinstance(driver, TarDriver)
    committed: dict[str, str] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(number: int) -> None:
        rng = random.Random(number)
        try:
            for item in range(6):
                size = rng.choice([0, 100, 200 * 1024, 700 * 1024, 1500 * 1024])
                data = rng.randbytes(size)
                path = f"/docker/registry/v2/blobs/t{number}/i{item}/data"
                with driver.writer(path) as writer:
                    for start in range(0, len(data), CHUNK):
                        writer.write(data[start : start + CHUNK])
                    if item % 3 == 2:
                        continue  # cancelled: left without commit
                    writer.commit()
                with lock:
                    committed[path.lstrip("/")] = hashlib.sha256(data).hexdigest()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and not any(thread.is_alive() for thread in threads)
    driver.close()
    found: dict[str, str] = {}
    with tarfile.open(archive) as tar:
        for member in tar:
            stream = tar.extractfile(member)
            assert stream is not None
            found[member.name] = hashlib.sha256(stream.read()).hexdigest()
    assert found.pop(INDEX_MEMBER)
    assert found == committed
    assert sorted(os.listdir(tmp_path)) == ["many.tar", "many.tar.sha256"]


def test_bad_options_are_one_line(tmp_path: Path) -> None:
    archive = str(tmp_path / "x.tar")
    for options, message in (
        ({"colour": "red"}, "unknown option"),
        ({"split-size": "lots"}, "must be a size such as"),
        ({"compression": "zst"}, "comes from its name"),
        ({"spool-dir": str(tmp_path / "nope")}, "not a directory"),
    ):
        with pytest.raises(ConfigurationError, match=message):
            TarDriver.open(archive, options, read_only=False)
    with pytest.raises(ConfigurationError, match="must end in"):
        TarDriver.open(str(tmp_path / "x.zip"), {}, read_only=False)
    assert os.listdir(tmp_path) == []
