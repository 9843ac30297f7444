"""Real `scrape` runs on the local driver: containers sharing an output, Ctrl-C mid-copy, a full
disk.

Two runs from separate PID namespaces (as from two containers) into one output must not take
each other's staging for dead; Ctrl-C must stop within seconds even inside a multi-GiB kernel
copy; a destination that fills up must give one line per image, never a traceback.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry_scraper_local import kernel_copy
from registry_scraper_local.driver import LocalDriver
from registry_scraper_local.staging import LOCK_NAME, PENDING_SUFFIX
from scraper_core.digest import Digest
from scraper_core.errors import StorageError
from scraper_core.testing.tree import TreeWriter
from tests.support.cli_process import start_scrape
from tests.support.components import require_binary
from tests.support.copy_gate import CopyGate, signal_at_gate
from tests.support.mounts import mounted_tmpfs
from tests.support.registry import RegistryFactory
from tests.support.reliability import record
from tests.support.skopeo import pull
from tests.support.trees import V2, big_images, blob_file, local_writer

SCRAPE = str(Path(sys.executable).parent / "scrape")


def _writer(root: Path) -> TreeWriter:
    return local_writer(root)


def _arguments(source: Path, output: Path, jobs: int = 1) -> list[str]:
    return ["--data-dir", str(source), "--output-dir", str(output), "-j", str(jobs)]


def _scrape(source: Path, output: Path, jobs: int = 1) -> list[str]:
    return [SCRAPE, *_arguments(source, output, jobs)]


def _staging_dirs(output: Path) -> list[str]:
    try:
        names = os.listdir(output / ".scrape-tmp")
    except FileNotFoundError:
        return []
    return [name for name in names if not name.endswith(PENDING_SUFFIX)]


def _staged_files(output: Path) -> list[Path]:
    staging = output / ".scrape-tmp"
    if not staging.exists():
        return []
    return [path for path in staging.rglob("*") if path.is_file() and path.name != LOCK_NAME]


def _leftovers(output: Path) -> list[Path]:
    return [path for path in output.rglob("*") if ".scrape-tmp" in str(path)]


# -- two runs from two PID namespaces into one output ------------------------------------------


def _in_pid_namespace(argv: list[str], extra_processes: int) -> list[str]:
    """``argv`` as PID ``2 + extra_processes`` of a new PID namespace (its own /proc), so the
    two runs' PIDs differ and each is unknown in the other's namespace, as in containers."""
    spawn = "/bin/true; " * extra_processes
    return ["unshare", "-p", "-f", "--mount-proc", "sh", "-c", f'{spawn}"$@"; exit $?', "sh", *argv]


@pytest.fixture
def unshare() -> str:
    binary = require_binary("unshare")
    if os.geteuid() != 0:
        pytest.skip("unshare -p needs root")
    probe = subprocess.run([binary, "-p", "-f", "--mount-proc", "true"], capture_output=True)
    if probe.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"unshare -p failed: {probe.stderr!r}")
        pytest.skip(f"unshare -p failed: {probe.stderr!r}")
    return binary


def test_two_runs_from_separate_pid_namespaces_share_one_output(
    tmp_path: Path, unshare: str, filesystem_registry: RegistryFactory
) -> None:
    source, output = tmp_path / "data", tmp_path / "copy"
    images = big_images(source, count=6, layer_mib=48)
    # Both want every image, in opposite orders: both copy while the other is running.
    first = [f"{image.name}:v1" for image in images]
    second = first[::-1]
    # Each run is held at a gate in its first blob: once both are there, both stagings exist
    # and the second run's clean-up (which comes before its staging) has judged the first's
    # live staging. Released together, they copy while the other is running.
    runs: list[subprocess.Popen[str]] = []
    with CopyGate("read", after=1 << 20) as gate_a, CopyGate("read", after=1 << 20) as gate_b:
        try:
            for gate, refs, extra in ((gate_a, first, 0), (gate_b, second, 1)):
                run = start_scrape(
                    *_arguments(source, output),
                    *refs,
                    gate=gate,
                    prefix=_in_pid_namespace([], extra),
                    stderr=subprocess.PIPE,
                )
                runs.append(run)
                gate.wait_reached(run)
            both_seen = len(_staging_dirs(output)) >= 2
            gate_a.release()
            gate_b.release()
            results = [(run, *run.communicate(timeout=600)) for run in runs]
        finally:
            for run in runs:
                if run.poll() is None:
                    run.kill()
                    run.wait()
    for run, _out, err in results:
        assert run.returncode == 0, err
        assert "Traceback" not in err
    assert both_seen, "the second run removed the first's live staging"
    assert _leftovers(output) == []
    verify = subprocess.run(
        [SCRAPE, "verify", "--data-dir", str(output), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert verify.returncode == 0, verify.stderr
    report = json.loads(verify.stdout)
    assert report["ok"] and report["tags"] == len(images) and not report["problems"]
    server = filesystem_registry(rootdir=output)
    for image in (images[0], images[-1]):
        into = tmp_path / f"pulled-{image.name.replace('/', '-')}"
        pulled = pull(server.url, f"{image.name}:v1", into)
        assert pulled.digest == str(image.manifest)
    record("local-pid-namespaces")


# -- Ctrl-C inside a multi-GiB kernel copy -----------------------------------------------------


def _sparse_image(source: Path, size: int) -> tuple[str, Digest]:
    """An image whose one layer is a sparse file of ``size`` bytes.

    Its digest is not the file's hash (hashing GiBs would take minutes here): the run is
    interrupted long before the hash would be checked.
    """
    writer = _writer(source)
    name = "big/sparse"
    layer = Digest("sha256", hashlib.sha256(b"not the content").hexdigest())
    data = blob_file(source, layer)
    data.parent.mkdir(parents=True)
    with open(data, "wb") as file:
        file.truncate(size)
    writer.image_of_stored_layers(name, "v1", [(layer, size)])
    return f"{name}:v1", layer


def test_ctrl_c_inside_a_multi_gib_kernel_copy_stops_within_seconds(tmp_path: Path) -> None:
    source, output = tmp_path / "data", tmp_path / "copy"
    reference, layer = _sparse_image(source, 4 << 30)
    layer_data = blob_file(source, layer)
    before = os.stat(layer_data)
    # The kernel copy stops between two chunks once 64 MiB are in, until the interrupt has
    # landed: the run cannot end first, and the interrupt comes inside the copy.
    with CopyGate("kernel-copy", after=64 << 20) as gate:
        process = start_scrape(
            *_arguments(source, output), reference, gate=gate, stderr=subprocess.PIPE
        )
        gate.wait_reached(process)
        copied = max(path.stat().st_size for path in _staged_files(output))
        sent = time.monotonic()
        _out, err = signal_at_gate(process, gate, signal.SIGINT)
        stopped_after = time.monotonic() - sent
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("interrupted:"), err
    # The copying thread stops at its next chunk; waiting out a whole copy (or the 2 s grace
    # a cancel gives a stuck kernel) would fail this.
    assert stopped_after < 1.5, f"Ctrl-C took {stopped_after:.1f} s"
    assert not blob_file(output, layer).exists()
    assert not (output / V2 / "repositories").exists(), "links written for an interrupted copy"
    assert _leftovers(output) == [], "staging left behind"
    after = os.stat(layer_data)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    record(
        "local-ctrl-c-kernel-copy",
        title="Ctrl-C inside a multi-GiB kernel copy",
        how="SIGINT to scrape while copy_file_range copies a 4 GiB (sparse) layer, "
        f"after {copied >> 20} MiB",
        outcome="exit 130 with one line, nothing at a final path, staging removed",
        figures={"seconds to stop": round(stopped_after, 2)},
    )


def test_cancel_stops_the_kernel_copy_at_the_next_chunk(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    with open(tmp_path / "src" / "blob", "wb") as file:
        file.truncate(4 << 30)
    source = LocalDriver.open(str(tmp_path / "src"), {}, read_only=True)
    dest = LocalDriver.open(str(tmp_path / "dst"), {}, read_only=False)
    staged = dest.start_copy(source, "/blob", "/copy")
    assert staged is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
        path.stat().st_size >= 32 << 20 for path in _staged_files(tmp_path / "dst")
    ):
        time.sleep(0.01)
    # A caller polling for its own cancel flag is never stuck in wait().
    with pytest.raises(TimeoutError):
        staged.wait(timeout=0.05)
    started = time.monotonic()
    staged.cancel()
    took = time.monotonic() - started
    assert took < 1.5, f"cancel took {took:.1f} s"
    assert not [t for t in threading.enumerate() if t.name == "kernel-copy"], "still copying"
    assert _staged_files(tmp_path / "dst") == []
    assert not (tmp_path / "dst" / "copy").exists()
    dest.close()
    assert _leftovers(tmp_path / "dst") == []


# -- a kernel copy that fails: errors come out of wait()/commit() --------------------------------


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EROFS])
def test_kernel_copy_errors_surface_from_wait_and_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "blob").write_bytes(os.urandom(40 << 20))
    source = LocalDriver.open(str(tmp_path / "src"), {}, read_only=True)
    dest = LocalDriver.open(str(tmp_path / "dst"), {}, read_only=False)
    real = os.copy_file_range
    calls = []

    def failing(source_fd: int, dest_fd: int, count: int) -> int:
        calls.append(count)
        if len(calls) == 2:  # after a first chunk went through
            raise OSError(code, os.strerror(code))
        return real(source_fd, dest_fd, count)

    monkeypatch.setattr(kernel_copy.os, "copy_file_range", failing)
    staged = dest.start_copy(source, "/blob", "/copy")
    assert staged is not None
    with pytest.raises(StorageError, match=os.strerror(code)) as caught:
        staged.wait()
    assert caught.value.path == "/copy" and "\n" not in str(caught.value)
    with pytest.raises(StorageError):
        staged.commit()
    staged.cancel()
    assert not (tmp_path / "dst" / "copy").exists()
    assert _staged_files(tmp_path / "dst") == []
    assert calls[0] <= 64 << 20, "a chunk larger than the cancel latency allows"
    record(
        "local-kernel-copy-errors",
        outcome=f"{errno.errorcode[code]}: StorageError from wait() and commit(), no partial file",
    )


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "small", "6m") as point:
        yield point


def test_full_disk_gives_one_line_per_image_and_no_traceback(
    tmp_path: Path, small_tmpfs: Path
) -> None:
    source, output = tmp_path / "data", small_tmpfs / "copy"
    writer = _writer(source)
    small = writer.image("team/small", "v1", layer_sizes=(2000,))
    writer.image("team/big", "v1", layer_sizes=(8 << 20,))  # kernel copy, does not fit
    done = subprocess.run(
        # One job, small image first: its blobs are in before the big one fills the disk, so
        # "no new blob starts once the destination is full" cannot leave it half copied.
        [*_scrape(source, output, jobs=1), "team/small:v1", "team/big:v1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "No space left on device" in done.stderr, done.stderr
    assert (output / V2 / "repositories/team/small/_manifests/tags/v1/current/link").exists()
    for digest in small.blobs:
        assert blob_file(output, digest).exists()
    assert not (output / V2 / "repositories/team/big/_manifests/tags").exists()
    assert _leftovers(output) == []
    shutil.rmtree(output)
    record("local-enospc")


def test_sigkill_mid_copy_then_rerun_removes_the_dead_runs_staging(tmp_path: Path) -> None:
    source, output = tmp_path / "data", tmp_path / "copy"
    images = big_images(source, count=3, layer_mib=32)
    refs = [f"{image.name}:v1" for image in images]
    # Held mid-copy (a staged file written, another blob still being read) until killed.
    with CopyGate("read", after=40 << 20) as gate:
        process = start_scrape(*_arguments(source, output), *refs, gate=gate)
        signal_at_gate(process, gate, signal.SIGKILL)
    killed = _staging_dirs(output)
    assert killed, "the killed run left no staging"
    # Left behind, its lock file there but held by nobody now.
    assert all((output / ".scrape-tmp" / name / LOCK_NAME).exists() for name in killed)
    rerun = subprocess.run(
        [*_scrape(source, output), *refs], capture_output=True, text=True, timeout=600
    )
    assert rerun.returncode == 0, rerun.stderr
    assert _leftovers(output) == [], "the dead run's staging survived the rerun"
    verify = subprocess.run(
        [SCRAPE, "verify", "--data-dir", str(output)], capture_output=True, text=True, timeout=600
    )
    assert verify.returncode == 0, verify.stderr
    record("local-sigkill-rerun")
