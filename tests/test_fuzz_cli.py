"""The real CLI over many generated hostile storage trees: no traceback, no hang, no write.

Each tree is a sound synthetic registry tree broken in one to four random ways (seeded, so a
failure names the seed that reproduces it): truncated, garbage, wrongly shaped or deeply
nested manifests, damaged and missing blobs, links with newlines, garbage or megabytes long,
symlinks out of the root, to the wrong entry inside it, dangling or in loops, files where
directories should be and the reverse, empty directories, bad and undecodable names, indexes
nested too deep. Every command (`list`, `verify`, `scrape --all-tags`, `--dry-run`, named
images with `--platform`, `verify` of the copies) runs as its own process with a timeout and
must exit 0, 1 or 2 without a traceback; the source tree (and what its symlinks point at
outside it) must be byte for byte, mode and mtime what it was.

FIFOs, character devices and sockets where content is expected are generated only with
``special_files`` (then at least one per tree); a driver that opened one blocking would hang,
and the per-command timeout turns that into a failure.

``SCRAPER_FUZZ_TREES`` and ``SCRAPER_FUZZ_SEED`` run more trees or other seeds.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import stat
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import TimeoutExpired

import pytest

from scraper_core import layout
from scraper_core.digest import Digest
from scraper_core.errors import ScraperError
from scraper_core.testing.tree import SyntheticImage
from tests.support.cli_process import run_scrape
from tests.support.recorded import recorded
from tests.support.trees import local_writer

TREES = int(os.environ.get("SCRAPER_FUZZ_TREES", "8"))
SEED = int(os.environ.get("SCRAPER_FUZZ_SEED", "20261130"))
#: Per command: a sound run takes about a second even on a loaded machine.
COMMAND_TIMEOUT = 45.0
WORKERS = 3


@dataclass
class Tree:
    """A tree being broken: its root, what a registry push put there, and what was done."""

    root: Path
    outside: Path
    rng: random.Random
    images: list[SyntheticImage]
    special_files: bool
    done: list[str] = field(default_factory=list)

    def path(self, storage_path: str) -> Path:
        return self.root / storage_path.lstrip("/")

    def files(self, below: str = layout.V2_ROOT) -> list[Path]:
        found = []
        for directory, _dirs, names in os.walk(self.path(below)):
            found += [Path(directory, name) for name in names]
        return sorted(path for path in found if path.is_file() and not path.is_symlink())

    def directories(self, below: str = layout.V2_ROOT) -> list[Path]:
        found = []
        for directory, dirs, _names in os.walk(self.path(below)):
            found += [Path(directory, name) for name in dirs]
        return sorted(path for path in found if not path.is_symlink())

    def links(self) -> list[Path]:
        return [path for path in self.files(layout.REPOSITORIES_ROOT) if path.name == "link"]

    def manifests(self) -> list[Path]:
        return [self.path(layout.blob_data_path(image.manifest)) for image in self.images]

    def pick(self, paths: list[Path]) -> Path | None:
        return self.rng.choice(paths) if paths else None

    def name(self, path: Path) -> str:
        return str(path.relative_to(self.root))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        for child in path.iterdir():
            _remove(child)
        path.rmdir()
    else:
        path.unlink()


def _linked_manifest(tree: Tree, data: bytes) -> str:
    """``data`` stored as the manifest of a tag, consistently linked, as a hostile push
    would leave it: only its content is wrong."""
    image = tree.rng.choice(tree.images)
    digest = Digest.of(data)
    for storage_path, content in (
        (layout.blob_data_path(digest), data),
        (layout.revision_link_path(image.name, digest), str(digest).encode()),
        (layout.tag_current_link_path(image.name, "hostile"), str(digest).encode()),
    ):
        target = tree.path(storage_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return f"{image.name}:hostile"


# Each breaker changes the tree one way and says what it did (for the failure message).


def truncated_manifest(tree: Tree) -> str:
    path = tree.rng.choice(tree.manifests())
    data = path.read_bytes()
    path.write_bytes(data[: tree.rng.randrange(len(data))])
    return f"truncated {tree.name(path)}"


def garbage_manifest(tree: Tree) -> str:
    return "garbage manifest " + _linked_manifest(tree, tree.rng.randbytes(300))


WRONG_SHAPES: list[object] = [
    [],
    None,
    "text",
    {"schemaVersion": 2},
    {"schemaVersion": 2, "layers": "x", "config": {}},
    {"schemaVersion": 2, "config": {"digest": "sha256:../../../etc"}, "layers": []},
    {"schemaVersion": 2, "config": {"digest": "sha256:" + "a" * 64, "size": -1}, "layers": []},
    {"schemaVersion": 2, "config": {"digest": "sha256:" + "a" * 64}, "layers": [None, 1]},
    {"schemaVersion": 2, "manifests": [{"digest": "sha256:" + "b" * 64, "platform": 7}]},
    {"schemaVersion": 2, "mediaType": ["list"]},
    {"schemaVersion": 1, "fsLayers": [{"blobSum": 5}]},
    {"schemaVersion": 1e400},
]


def wrong_shape_manifest(tree: Tree) -> str:
    document = tree.rng.choice(WRONG_SHAPES)
    return "wrong shape " + _linked_manifest(tree, json.dumps(document).encode())


def deep_manifest(tree: Tree) -> str:
    depth = tree.rng.choice([101, 1500, 200_000])
    opener, closer = tree.rng.choice([("[", "]"), ('{"a":', "}")])
    data = f'{{"schemaVersion": 2, "x": {opener * depth}1{closer * depth}}}'.encode()
    return f"{depth} levels deep " + _linked_manifest(tree, data)


def huge_manifest(tree: Tree) -> str:
    data = b'{"schemaVersion": 2, "pad": "' + b"x" * (4 << 20) + b'"}'
    return "5 MiB " + _linked_manifest(tree, data)


def damaged_blob(tree: Tree) -> str:
    path = tree.rng.choice(tree.files(layout.BLOBS_ROOT))
    data = bytearray(path.read_bytes() or b"\0")
    how = tree.rng.choice(["flipped", "truncated", "extended", "emptied"])
    if how == "flipped":
        data[tree.rng.randrange(len(data))] ^= 0xFF
    elif how == "truncated":
        del data[tree.rng.randrange(len(data)) :]
    elif how == "extended":
        data += b"more"
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    return f"{how} {tree.name(path)}"


def missing_blob(tree: Tree) -> str:
    path = tree.rng.choice(tree.files(layout.BLOBS_ROOT))
    path.unlink()
    return f"removed {tree.name(path)}"


def bad_link(tree: Tree) -> str:
    path = tree.rng.choice(tree.links())
    valid = path.read_bytes()
    content = tree.rng.choice(
        [
            valid + b"\n",
            b"\n" + valid,
            valid[:-1],
            b"",
            tree.rng.randbytes(71),
            valid + b" " * (1 << 20),
            b"sha256:../../../../../../etc/passwd",
            b"md5:" + b"0" * 32,
            b"sha256:" + b"f" * 64,  # a valid digest of nothing stored
            valid.upper(),
        ]
    )
    path.write_bytes(content)
    return f"link {tree.name(path)} = {content[:80]!r}"


def _some_entry(tree: Tree) -> Path | None:
    return tree.pick([*tree.files(), *tree.directories()])


def symlink_out(tree: Tree) -> str:
    entry = _some_entry(tree)
    if entry is None:
        return "nothing to replace"
    target = tree.outside / f"target-{len(tree.done)}"
    if entry.is_dir():
        target.mkdir(parents=True)
        (target / "data").write_bytes(b"outside the root")
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(entry.read_bytes())
    _remove(entry)
    entry.symlink_to(target)
    return f"{tree.name(entry)} -> outside"


def symlink_inside(tree: Tree) -> str:
    """An entry replaced by a link to another of its kind inside the root (a blob to another
    blob, a repository to another): followed, it holds the wrong content."""
    entry = _some_entry(tree)
    if entry is None:
        return "nothing to replace"
    others = tree.directories() if entry.is_dir() else tree.files()
    target = tree.pick([path for path in others if path != entry and entry not in path.parents])
    if target is None:
        return "no other entry"
    _remove(entry)
    entry.symlink_to(os.path.relpath(target, entry.parent))
    return f"{tree.name(entry)} -> {tree.name(target)}"


def dangling_symlink(tree: Tree) -> str:
    entry = _some_entry(tree)
    if entry is None:
        return "nothing to replace"
    _remove(entry)
    target = tree.rng.choice(["nowhere", "/nonexistent/x", "../../../../../../../nowhere"])
    entry.symlink_to(target)
    return f"{tree.name(entry)} -> {target} (dangling)"


def symlink_loop(tree: Tree) -> str:
    directory = tree.rng.choice(tree.directories())
    kind = tree.rng.choice(["self", "dot", "dotdot", "pair", "replace"])
    if kind == "replace":
        entry = _some_entry(tree)
        if entry is None:
            return "nothing to replace"
        _remove(entry)
        entry.symlink_to(entry.name)
        return f"{tree.name(entry)} -> itself"
    if kind == "pair":
        (directory / "ping").symlink_to("pong")
        (directory / "pong").symlink_to("ping")
    else:
        target = {"self": "loop", "dot": ".", "dotdot": ".."}[kind]
        (directory / "loop").symlink_to(target)
        if kind == "dot":
            (directory / "loop2").symlink_to(".")
    return f"{kind} loop in {tree.name(directory)}"


def file_for_directory(tree: Tree) -> str:
    directory = tree.pick(tree.directories())
    if directory is None:
        return "no directory"
    _remove(directory)
    directory.write_bytes(tree.rng.choice([b"", b"sha256:" + b"0" * 64, b"x"]))
    return f"file where {tree.name(directory)} was"


def directory_for_file(tree: Tree) -> str:
    path = tree.rng.choice(tree.files())
    path.unlink()
    (path / "link").mkdir(parents=True)
    return f"directory where {tree.name(path)} was"


def empty_directories(tree: Tree) -> str:
    image = tree.rng.choice(tree.images)
    made = [
        layout.tags_path(image.name) + "/empty",
        layout.tags_path(image.name) + "/nolink/current",
        layout.repository_path(image.name) + "/_manifests/revisions/sha256/" + "c" * 64,
        layout.repository_path(image.name) + "/_layers/sha256",
        layout.repository_path("empty/repository"),
        layout.repository_path("onlymarker") + "/_manifests",
        layout.BLOBS_ROOT + "/sha256/zz",
        layout.BLOBS_ROOT + "/sha512",
    ]
    chosen = tree.rng.sample(made, 3)
    for storage_path in chosen:
        tree.path(storage_path).mkdir(parents=True, exist_ok=True)
    return f"empty directories {chosen}"


BAD_NAMES = ["bad tag", "-x", "x" * 250, "a\nb", "é", ".hidden", "UPPER", "a:b", "*", "[x"]
#: Not UTF-8: Python sees these names with surrogates, which no output may choke on.
UNDECODABLE = os.fsdecode(b"\xff\xfe")


def bad_names(tree: Tree) -> str:
    image = tree.rng.choice(tree.images)
    name = tree.rng.choice([*BAD_NAMES, UNDECODABLE])
    link = str(image.manifest).encode()
    path = tree.rng.choice(
        [
            tree.path(layout.tags_path(image.name)) / name / "current" / "link",
            tree.path(layout.REPOSITORIES_ROOT) / name / "_manifests/tags/v1/current/link",
            tree.path(layout.repository_path(image.name)) / "_layers/sha256" / name / "link",
            tree.path(layout.BLOBS_ROOT) / "sha256" / name / "data",
        ]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(link)
    return f"name {name[:20]!r} at {tree.name(path)[:120]!r}"


def stray_files(tree: Tree) -> str:
    places = [
        layout.REPOSITORIES_ROOT + "/stray",
        layout.BLOBS_ROOT + "/stray",
        layout.BLOBS_ROOT + "/sha256/stray",
        layout.V2_ROOT + "/stray",
        layout.tags_path(tree.images[0].name) + "/stray",
        layout.repository_path(tree.images[0].name) + "/_layers/stray",
    ]
    place = tree.rng.choice(places)
    tree.path(place).parent.mkdir(parents=True, exist_ok=True)
    tree.path(place).write_bytes(b"stray")
    return f"stray file {place}"


def deep_indexes(tree: Tree) -> str:
    writer = local_writer(tree.root)
    child = tree.images[0]
    digest = child.manifest
    for level in range(12):
        document = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"digest": str(digest), "size": 1, "platform": {"os": str(level)}}],
        }
        digest = writer.manifest(child.name, document)
    writer.tag(child.name, "nested", digest)
    return f"12 nested indexes at {child.name}:nested"


def _special_file(path: Path, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        zero = os.makedev(1, 5)
        os.mknod(path, stat.S_IFCHR | 0o666, zero)
    else:
        # An AF_UNIX address is at most 107 bytes: bind relative to the directory.
        previous = os.getcwd()
        os.chdir(path.parent)
        try:
            with socket.socket(socket.AF_UNIX) as server:
                server.bind(path.name)
        finally:
            os.chdir(previous)


def special_file(tree: Tree) -> str:
    kind = tree.rng.choice(["fifo", "fifo", "device", "socket"])
    path = tree.rng.choice([*tree.links(), *tree.manifests(), *tree.files(layout.BLOBS_ROOT)])
    if path.exists():
        path.unlink()
    _special_file(path, kind)
    return f"{kind} at {tree.name(path)}"


BREAKERS: list[Callable[[Tree], str]] = [
    truncated_manifest,
    garbage_manifest,
    wrong_shape_manifest,
    deep_manifest,
    huge_manifest,
    damaged_blob,
    missing_blob,
    bad_link,
    bad_link,
    symlink_out,
    symlink_inside,
    dangling_symlink,
    symlink_loop,
    file_for_directory,
    directory_for_file,
    empty_directories,
    bad_names,
    stray_files,
    deep_indexes,
]


def hostile_tree(base: Path, seed: int, *, special_files: bool) -> Tree:
    """A sound tree under ``base/data``, then broken one to four ways chosen by ``seed``."""
    root = base / "data"
    writer = local_writer(root)
    rng = random.Random(seed)
    images = [
        writer.image("app", "v1", layer_sizes=(100, 2000)),
        writer.image("app", "v2", layer_sizes=(300,)),
        writer.image("team/x", "latest", layer_sizes=(50,)),
    ]
    arm = writer.image("multi", None, layer_sizes=(70,), arch="arm64")
    amd = writer.image("multi", None, layer_sizes=(80,), arch="amd64")
    writer.index("multi", "v1", [arm, amd])
    images += [arm, amd]
    tree = Tree(root, base / "outside", rng, images, special_files)
    tree.outside.mkdir()
    chosen = rng.sample(BREAKERS, rng.randint(1, 4))
    if special_files:
        chosen.insert(rng.randint(0, len(chosen)), special_file)
    for breaker in chosen:
        try:
            tree.done.append(breaker(tree))
        except (OSError, IndexError, ScraperError) as exc:
            # An earlier breaker took away what this one needed: the tree is hostile anyway.
            tree.done.append(f"{breaker.__name__} not applied ({exc!r:.80})")
    return tree


def fingerprint(*roots: Path) -> str:
    """Every entry's path, type, mode, size, mtime and (regular files) content; symlinks by
    target. Special files are never opened."""
    digest = hashlib.sha256()
    for top in roots:
        for directory, dirs, names in os.walk(top):
            dirs.sort()
            for name in sorted([*dirs, *names]):
                path = os.path.join(directory, name)
                info = os.lstat(path)
                digest.update(os.fsencode(path))
                digest.update(f"\0{info.st_mode}\0{info.st_mtime_ns}\0".encode())
                if stat.S_ISLNK(info.st_mode):
                    digest.update(os.fsencode(os.readlink(path)))
                elif stat.S_ISREG(info.st_mode):
                    digest.update(f"{info.st_size}\0".encode())
                    with open(path, "rb") as file:
                        digest.update(hashlib.sha256(file.read()).digest())
    return digest.hexdigest()


#: Named images: an image, the index (one platform of it), a name without tag, one missing.
NAMED = ("app:v1", "multi:v1", "team/x", "nope")


def commands(tree: Tree, out: Path) -> list[tuple[str, ...]]:
    data = ("--data-dir", str(tree.root))
    return [
        ("list", *data),
        ("verify", *data, "--json"),
        (*data, "--output-dir", str(out / "all"), "--all-tags", "*", "*/*"),
        (*data, "--output-dir", str(out / "dry"), "--dry-run", "--all-tags", "*"),
        (*data, "--output-dir", str(out / "named"), "--platform", "linux/arm64", *NAMED),
    ]


@dataclass
class Outcome:
    seed: int
    done: list[str]
    args: tuple[str, ...]
    problem: str | None
    seconds: float
    code: int | None = None


def run_one(seed: int, done: list[str], args: tuple[str, ...]) -> Outcome:
    started = time.monotonic()
    try:
        result = run_scrape(*args, timeout=COMMAND_TIMEOUT)
    except TimeoutExpired:
        return Outcome(seed, done, args, f"no answer in {COMMAND_TIMEOUT:g} s", COMMAND_TIMEOUT)
    seconds = time.monotonic() - started
    problem = None
    if result.returncode not in (0, 1, 2):
        problem = f"exit {result.returncode}"
    elif "Traceback" in result.stderr:
        problem = "a traceback"
    if problem is not None:
        problem += "\n" + result.describe()[-3000:]
    return Outcome(seed, done, args, problem, seconds, result.returncode)


def fuzz(tmp_path: Path, *, special_files: bool, trees: int) -> list[Outcome]:
    built = []
    for seed in range(SEED, SEED + trees):
        tree = hostile_tree(tmp_path / str(seed), seed, special_files=special_files)
        built.append((seed, tree, fingerprint(tree.root, tree.outside)))
    jobs = [
        (seed, tree.done, args)
        for seed, tree, _ in built
        for args in commands(tree, tree.root.parent / "out")
    ]
    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(lambda job: run_one(*job), jobs))
        # What a scrape copied out of a hostile tree is sound: its copy verifies clean (the
        # --platform one too, with what it left out as notes).
        copies = [
            (seed, tree.done, ("verify", "--data-dir", str(copy)))
            for seed, tree, _ in built
            for copy in (tree.root.parent / "out" / "all", tree.root.parent / "out" / "named")
            if copy.is_dir()
        ]
        verified = list(pool.map(lambda job: run_one(*job), copies))
    for outcome in verified:
        if outcome.problem is None and outcome.code != 0:
            outcome.problem = f"the copy does not verify (exit {outcome.code})"
    for seed, tree, before in built:
        if fingerprint(tree.root, tree.outside) != before:
            outcomes.append(Outcome(seed, tree.done, (), "the source changed", 0.0))
    return outcomes + verified


def describe(failures: list[Outcome]) -> str:
    return "\n\n".join(
        f"seed {o.seed} ({'; '.join(o.done)}): scrape {' '.join(o.args)}: {o.problem}"
        for o in failures[:5]
    )


# FIFOs, devices and sockets ride along in half the trees' worth of runs: the local driver
# refuses them without blocking, and a hang is a failure (each command has a timeout).
@pytest.mark.parametrize("special_files", [False, True], ids=["plain", "special-files"])
def test_the_cli_survives_hostile_trees(tmp_path: Path, special_files: bool) -> None:
    started = time.monotonic()
    trees = TREES if not special_files else max(4, TREES // 2)
    with recorded(
        "fuzz-cli" + ("-special-files" if special_files else ""),
        title="Generated hostile trees through the real CLI"
        + (" (FIFOs, devices, sockets)" if special_files else ""),
        how="seeded random trees broken 1-4 ways; list, verify, scrape --all-tags, --dry-run, "
        "named images, verify of the copy, each a process with a timeout",
        outcome="exit 0/1/2, no traceback, no hang, source unchanged, copies verify",
    ) as figures:
        outcomes = fuzz(tmp_path, special_files=special_files, trees=trees)
        failures = [outcome for outcome in outcomes if outcome.problem is not None]
        figures.update(
            {
                "trees": trees,
                "commands": len(outcomes),
                "slowest command (s)": round(max(o.seconds for o in outcomes), 1),
                "total (s)": round(time.monotonic() - started, 1),
            }
        )
        assert not failures, describe(failures)
