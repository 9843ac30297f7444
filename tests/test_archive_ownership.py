"""An archive run owns only what it made, through the real ``scrape`` process (issue 18).

Every file a run writes, replaces or removes beside an archive (its volumes, the old set's
volumes, ``FILE.sha256``, ``FILE.receipt.json``, ``FILE.lock``) is compared by identity with
the source, both ways and however either is spelt (symlink, hard link, relative path, ``..``,
directory alias, base name against ``.000``, bind mount); names placed beside the archive by
someone else (symlinks to a precious file, directories, FIFOs, hard links, dated backups) are
never written through or removed; the stdout spool stays out of the source tree.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.mounts import bound
from tests.support.reliability import record
from tests.support.trees import local_tree, local_writer

SCRAPE = str(Path(sys.executable).parent / "scrape")
MIB = 1024 * 1024
PRECIOUS = b"precious: must never be written\n"


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRAPE, *args], capture_output=True, text=True, timeout=180, cwd=cwd, env=env
    )


def one_line_error(done: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The run failed with ``code`` and said why in one line, no traceback."""
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    # "unexpected <exception>" is what the CLI says of an error nobody turned into words.
    assert "unexpected" not in lines[0], lines[0]
    return lines[0]


def state(directory: Path) -> dict[str, object]:
    """Every name in ``directory``: a symlink's target, a file's bytes' digest, or a kind."""
    found: dict[str, object] = {}
    for entry in sorted(directory.iterdir()):
        if entry.is_symlink():
            found[entry.name] = ("link", os.readlink(entry))
        elif entry.is_file():
            found[entry.name] = hashlib.sha256(entry.read_bytes()).hexdigest()
        else:
            found[entry.name] = "dir" if entry.is_dir() else "special"
    return found


@pytest.fixture
def source(tmp_path: Path) -> Path:
    images = {"app:1": (5000, 3000), "app:2": (7000,), "other:1": (2000,)}
    return local_tree(tmp_path / "data", images)


@pytest.fixture
def ship(tmp_path: Path, source: Path) -> Path:
    """A directory holding ``one.tar`` and a split set ``s.tar.000``, ... (20 volumes)."""
    out = tmp_path / "ship"
    out.mkdir()
    done = run("-q", "--data-dir", str(source), "--output-tar", str(out / "one.tar"), "app:1")
    assert done.returncode == 0, done.stderr
    split = ["--split-size", "4K", "--all-tags", "app", "other"]
    done = run("-q", "--data-dir", str(source), "--output-tar", str(out / "s.tar"), *split)
    assert done.returncode == 0, done.stderr
    assert len(list(out.glob("s.tar.[0-9][0-9][0-9]"))) > 5
    return out


# -- 1. the same file by identity, not spelling --------------------------------------------

#: (what to prepare in the ship directory, --data-dir, --output-tar and extra options), all
#: relative to the ship directory, which is the working directory.
ALIASES: dict[str, tuple[Callable[[Path], object], str, str, tuple[str, ...]]] = {
    "split set into its own base name": (lambda d: None, "s.tar.000", "s.tar", ()),
    "split set into its own base name, split again": (
        lambda d: None,
        "s.tar.000",
        "s.tar",
        ("--split-size", "8K"),
    ),
    "split set by base name into its first volume's name": (
        lambda d: None,
        "s.tar",
        "s.tar.000",
        (),
    ),
    "source through a symlink": (lambda d: (d / "link.tar").symlink_to("one.tar"), "link.tar",
                                 "one.tar", ()),
    "output through a symlink": (lambda d: (d / "link.tar").symlink_to("one.tar"), "one.tar",
                                 "link.tar", ()),
    "source is a hard link": (lambda d: os.link(d / "one.tar", d / "hard.tar"), "hard.tar",
                              "one.tar", ()),
    "absolute against relative": (lambda d: None, "{ship}/one.tar", "one.tar", ()),
    "dot-dot through a directory": (lambda d: (d / "sub").mkdir(), "sub/../one.tar",
                                    "{ship}/sub/../one.tar", ()),
    "directory alias": (lambda d: (d / "alias").symlink_to(d), "one.tar", "alias/one.tar", ()),
    "split set through a directory alias": (lambda d: (d / "alias").symlink_to(d),
                                            "alias/s.tar.000", "s.tar", ()),
    "output's receipt name is a link to the source": (
        lambda d: (d / "new.tar.receipt.json").symlink_to("one.tar"),
        "one.tar",
        "new.tar",
        (),
    ),
    "output's checksum file is a hard link to the source's": (
        lambda d: os.link(d / "one.tar.sha256", d / "new.tar.sha256"),
        "one.tar",
        "new.tar",
        (),
    ),
    "a split output's volumes would take the source's name": (
        lambda d: shutil.copyfile(d / "one.tar", d / "v.tar.003"),
        "v.tar.003",
        "v.tar",
        ("--split-size", "4K"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(ALIASES))
def test_an_archive_source_is_never_written_however_it_is_spelt(ship: Path, case: str) -> None:
    prepare, data_dir, output, extra = ALIASES[case]
    prepare(ship)
    before = state(ship)
    data_dir, output = data_dir.format(ship=ship), output.format(ship=ship)
    done = run(
        "--storage", "tar", "--data-dir", data_dir, "--output-tar", output, *extra, "app:1",
        cwd=ship,
    )  # fmt: skip
    line = one_line_error(done)
    assert "the source is never written" in line, line
    assert state(ship) == before, "nothing touched"
    record("archive-source-identity")


@pytest.fixture
def bind_mount(tmp_path: Path, ship: Path) -> Iterator[Path]:
    with bound(ship, tmp_path / "bound") as point:
        yield point


@pytest.mark.parametrize("names", [("one.tar", "one.tar"), ("s.tar.000", "s.tar")])
def test_an_archive_source_reached_through_a_bind_mount_is_never_written(
    ship: Path, bind_mount: Path, names: tuple[str, str]
) -> None:
    # No path comparison can tell: only the device and inode of the directory can.
    before = state(ship)
    source, output = names
    done = run(
        "--storage", "tar", "--data-dir", str(ship / source),
        "--output-tar", str(bind_mount / output), "app:1",
    )  # fmt: skip
    assert "the source is never written" in one_line_error(done)
    assert state(ship) == before
    record("archive-source-bind-mount")


def test_a_beside_file_linked_into_a_source_tree_is_refused(tmp_path: Path, source: Path) -> None:
    inside = next(source.rglob("link"))
    held = inside.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    (out / "ship.tar.sha256").symlink_to(inside)
    done = run("--data-dir", str(source), "--output-tar", str(out / "ship.tar"), "app:1")
    assert "inside the source" in one_line_error(done)
    assert inside.read_bytes() == held
    assert sorted(os.listdir(out)) == ["ship.tar.sha256"]


def test_a_split_source_is_read_while_another_name_is_written(ship: Path) -> None:
    """The checks refuse only what overlaps: a different name beside the source is fine."""
    before = {name: digest for name, digest in state(ship).items() if name.startswith("s.tar")}
    done = run(
        "-q", "--storage", "tar", "--data-dir", "s.tar.000", "--output-tar", "t.tar",
        "--split-size", "4K", "app:1", cwd=ship,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    after = state(ship)
    assert {name: after[name] for name in before} == before
    assert (ship / "t.tar.000").exists()


# -- 2. files beside the archive are made without following links ---------------------------


@pytest.fixture
def precious(tmp_path: Path) -> Path:
    outside = tmp_path / "home"
    outside.mkdir()
    path = outside / "precious"
    path.write_bytes(PRECIOUS)
    return path


BESIDE_LINKS = {
    "lock": ("ship.tar.lock", ()),
    "checksum file": ("ship.tar.sha256", ()),
    "receipt": ("ship.tar.receipt.json", ()),
    "archive": ("ship.tar", ()),
    "first volume": ("ship.tar.000", ("--split-size", "4K")),
    "second volume": ("ship.tar.001", ("--split-size", "4K")),
    "a volume past the set's end": ("ship.tar.900", ("--split-size", "4K")),
}


@pytest.mark.parametrize("case", sorted(BESIDE_LINKS))
@pytest.mark.parametrize("kind", ["symlink", "hard link"])
def test_a_file_beside_the_archive_never_writes_through_to_a_precious_file(
    tmp_path: Path, source: Path, precious: Path, case: str, kind: str
) -> None:
    name, extra = BESIDE_LINKS[case]
    out = tmp_path / "out"
    out.mkdir()
    placed = out / name
    if kind == "symlink":
        placed.symlink_to(precious)
    else:
        os.link(precious, placed)
    done = run("-q", "--data-dir", str(source), "--output-tar", str(out / "ship.tar"),
               *extra, "app:1")  # fmt: skip
    assert precious.read_bytes() == PRECIOUS, "written through"
    assert precious.exists()
    if done.returncode == 0:
        # Replaced, not followed: the name is the run's own file now (or the link is left
        # alone, not being a file of the run: a volume past the set's end).
        assert placed.is_symlink() is False or name == "ship.tar.900", name
        assert "Traceback" not in done.stderr
    else:
        one_line_error(done)
        assert placed.exists() or placed.is_symlink()
    assert not any(entry.name.startswith(".ship.tar.scrape-") for entry in out.iterdir())
    record("archive-beside-links")


def _make_special(kind: str, path: Path) -> None:
    if kind == "directory":
        path.mkdir()
    elif kind == "FIFO":
        os.mkfifo(path)
    else:
        path.symlink_to(path.parent / "nowhere")


@pytest.mark.parametrize("kind", ["directory", "FIFO", "symbolic link"])
@pytest.mark.parametrize("name", ["ship.tar.lock", "ship.tar.sha256", "ship.tar.receipt.json"])
def test_a_beside_name_that_is_not_a_file_is_one_line(
    tmp_path: Path, source: Path, kind: str, name: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    _make_special(kind, out / name)
    before = state(out)
    done = run("-q", "--data-dir", str(source), "--output-tar", str(out / "ship.tar"), "app:1")
    if kind == "symbolic link" and not name.endswith(".lock"):
        # A dangling link where a file is renamed into place: replaced, never followed.
        assert done.returncode == 0, done.stderr
        assert (out / name).is_file() and not (out / name).is_symlink()
        assert not (out / "nowhere").exists()
        return
    line = one_line_error(done)
    assert name in line and kind in line, line
    assert state(out) == before
    record("archive-beside-special")


@pytest.mark.parametrize("kind", ["directory", "FIFO"])
def test_a_volume_name_that_is_not_a_file_is_one_line(
    tmp_path: Path, source: Path, kind: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    _make_special(kind, out / "ship.tar.001")
    done = run("-q", "--data-dir", str(source), "--output-tar", str(out / "ship.tar"),
               "--split-size", "4K", "app:1")  # fmt: skip
    line = one_line_error(done)
    assert "ship.tar.001" in line and kind in line, line
    assert os.listdir(out) == ["ship.tar.001"]


def test_an_output_where_no_work_directory_can_be_made_is_one_line(source: Path) -> None:
    line = one_line_error(run("--data-dir", str(source), "--output-tar", "/proc/ship.tar", "app:1"))
    assert "/proc/ship.tar" in line, line


# -- 3. old volumes are removed only when the set being replaced names them ----------------


def test_only_the_replaced_sets_own_volumes_are_removed(tmp_path: Path, source: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    archive = str(out / "ship.tar")
    many = ["--split-size", "4K", "--all-tags", "app", "other"]
    assert run("-q", "--data-dir", str(source), "--output-tar", archive, *many).returncode == 0
    longer = sorted(p.name for p in out.glob("ship.tar.[0-9][0-9][0-9]"))
    strangers = {"ship.tar.20240601": b"dated backup\n", "ship.tar.1234": b"someone's\n"}
    for name, data in strangers.items():
        (out / name).write_bytes(data)
    done = run("-q", "--data-dir", str(source), "--output-tar", archive, "--split-size", "4K",
               "app:1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    shorter = sorted(p.name for p in out.glob("ship.tar.[0-9][0-9][0-9]"))
    assert len(shorter) < len(longer)
    for name, data in strangers.items():
        assert (out / name).read_bytes() == data, f"{name} removed or changed"
    # One file replacing the set: its volumes go, the strangers stay.
    assert run("-q", "--data-dir", str(source), "--output-tar", archive, "app:1").returncode == 0
    assert sorted(os.listdir(out)) == sorted(
        ["ship.tar", "ship.tar.sha256", "ship.tar.receipt.json", *strangers]
    )
    record("archive-stale-volumes")


def test_a_checksum_file_that_is_not_the_sets_own_removes_nothing(
    tmp_path: Path, source: Path, precious: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    fake = precious.parent / "fake.sha256"
    fake.write_text(f"{'0' * 64}  ship.tar.20240601\n")
    (out / "ship.tar.sha256").symlink_to(fake)
    (out / "ship.tar.20240601").write_bytes(b"dated backup\n")
    done = run("-q", "--data-dir", str(source), "--output-tar", str(out / "ship.tar"), "app:1")
    assert done.returncode == 0, done.stderr
    assert (out / "ship.tar.20240601").read_bytes() == b"dated backup\n"
    assert fake.read_text() == f"{'0' * 64}  ship.tar.20240601\n"
    assert not (out / "ship.tar.sha256").is_symlink()


# -- 4. the checksum file covers the receipt -----------------------------------------------


@pytest.mark.parametrize("extra", [(), ("--split-size", "4K")])
def test_the_checksum_file_covers_every_file_of_the_set(
    tmp_path: Path, source: Path, extra: tuple[str, ...]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    done = run("-q", "--data-dir", str(source), "--output-tar", str(out / "ship.tar.gz"),
               *extra, "app:1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = [line.split("  ")[1] for line in (out / "ship.tar.gz.sha256").read_text().splitlines()]
    assert sorted(listed) == sorted(set(os.listdir(out)) - {"ship.tar.gz.sha256"})
    assert listed[-1] == "ship.tar.gz.receipt.json"
    check = ["sha256sum", "-c", "--quiet", "ship.tar.gz.sha256"]
    assert subprocess.run(check, cwd=out, timeout=60).returncode == 0
    with (out / "ship.tar.gz.receipt.json").open("ab") as receipt:
        receipt.write(b" ")
    damaged = subprocess.run(check, cwd=out, capture_output=True, text=True, timeout=60)
    assert damaged.returncode != 0 and "receipt.json: FAILED" in damaged.stdout


# -- 6. small ones ---------------------------------------------------------------------------


def test_an_empty_split_size_is_an_error_naming_it(tmp_path: Path, source: Path) -> None:
    done = run("--data-dir", str(source), "--output-tar", str(tmp_path / "x.tar"),
               "--split-size", "", "app:1")  # fmt: skip
    assert "split size ''" in one_line_error(done)
    assert sorted(os.listdir(tmp_path)) == ["data"]


def test_a_bad_source_date_epoch_is_one_line(tmp_path: Path, source: Path) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "yesterday"}
    done = run("--data-dir", str(source), "--output-tar", str(tmp_path / "x.tar"), "app:1",
               env=env)  # fmt: skip
    assert "SOURCE_DATE_EPOCH" in one_line_error(done)
    assert sorted(os.listdir(tmp_path)) == ["data"]


@pytest.fixture
def read_only_source(tmp_path: Path) -> Iterator[Path]:
    """A source tree with a blob past the in-memory limit (it must spool), mounted
    read-only: even root cannot create a file in it."""
    root = tmp_path / "data"
    tree = local_writer(root)
    tree.image("big", "1", layer_sizes=(9 * MIB,))
    with bound(root, tmp_path / "ro", read_only=True) as point:
        yield point


def test_the_stdout_spool_works_from_a_read_only_source_as_working_directory(
    tmp_path: Path, read_only_source: Path
) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        f"{SCRAPE} -q --data-dir . --output-tar - big:1 | tar -t",
        shell=True, capture_output=True, text=True, timeout=180, cwd=read_only_source, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "docker/registry/v2/repositories/big/_manifests/tags/1/current/link" in done.stdout
    assert "Traceback" not in done.stderr
    record("archive-stdout-spool")


@pytest.mark.parametrize("how", ["spool-dir", "TMPDIR"])
def test_a_stdout_spool_inside_the_source_is_refused(
    tmp_path: Path, source: Path, how: str
) -> None:
    inside = source / "docker"
    before = state(inside)
    options = ["--output-storage-option", f"spool-dir={inside}"] if how == "spool-dir" else []
    env = {**os.environ, "TMPDIR": str(inside)} if how == "TMPDIR" else None
    done = run("--data-dir", str(source), "--output-tar", "-", *options, "app:1", env=env)
    assert "spool directory" in one_line_error(done)
    assert state(inside) == before
