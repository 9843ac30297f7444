"""skopeo (1.9.3) as the registry client: push OCI layouts, inspect and pull back verified.

Every call is hermetic: no signature policy lookup (`--insecure-policy`: the host's
/etc/containers/policy.json may be missing or strict), no credentials (`--*-no-creds`), an
empty registries.conf (no mirrors or aliases rewriting 127.0.0.1 references) and an empty
registries.d (no lookaside signature storage written under /var/lib/containers), plain http.

Facts these wrappers rely on (checked against distribution 2.8.2 and skopeo 1.9.3):
- `oci:LAYOUT:REF` may name an image index nested in index.json; `--all` pushes the index,
  every platform manifest and their blobs, and the registry keeps the index byte for byte.
- `--format v2s1` converts an OCI source straight to a signed schema1 manifest (skopeo signs
  it with an ephemeral key); no `dir:` detour is needed. The config needs one non-empty
  history entry per layer for that conversion.
- `--format v2s2` keeps config and layer blobs byte-identical; only the manifest changes.
- A schema1 manifest is served re-signed by the registry (new signature on every GET), so the
  served bytes never hash to its digest: manifest_digest() strips the JWS signatures first, as
  the registry and `skopeo manifest-digest` do.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tests.support.components import require_binary
from tests.support.images import StandardImages
from tests.support.registry import RegistryServer

FORMATS = ("oci", "v2s2", "v2s1")
SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"


class SkopeoError(RuntimeError):
    pass


@cache
def _isolation_dir() -> Path:
    root = Path(tempfile.mkdtemp(prefix="skopeo-tests-"))
    atexit.register(shutil.rmtree, root, True)
    (root / "registries.conf").write_text("")
    (root / "registries.d").mkdir()
    (root / "auth.json").write_text("{}")
    return root


def skopeo_env() -> dict[str, str]:
    root = _isolation_dir()
    env = dict(os.environ)
    env["CONTAINERS_REGISTRIES_CONF"] = str(root / "registries.conf")
    env["REGISTRY_AUTH_FILE"] = str(root / "auth.json")
    return env


def run_bytes(*args: str, binary: str | None = None, timeout: float = 120.0) -> bytes:
    """`skopeo --insecure-policy --registries.d EMPTY ARGS...`; stdout, or SkopeoError."""
    command = [
        binary or require_binary("skopeo"),
        "--insecure-policy",
        "--registries.d",
        str(_isolation_dir() / "registries.d"),
        *args,
    ]
    result = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=skopeo_env(),
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise SkopeoError(
            f"{' '.join(command)} exited {result.returncode}:\n"
            + result.stderr.decode(errors="replace")
        )
    return result.stdout


def run(*args: str, binary: str | None = None, timeout: float = 120.0) -> str:
    return run_bytes(*args, binary=binary, timeout=timeout).decode(errors="replace")


def docker_ref(registry_url: str, ref: str) -> str:
    """docker://host:port/name:tag or docker://host:port/name@sha256:..."""
    return f"docker://{registry_url}/{ref}"


def manifest_digest(raw: bytes) -> str:
    """The digest a registry gives a manifest: sha256 of the bytes, except for signed schema1.

    Signed schema1 is hashed over its payload without the `signatures` key, rebuilt from the
    JWS protected header (formatLength bytes of the document, then formatTail).
    """
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if isinstance(document, dict) and document.get("schemaVersion") == 1:
        signatures = document.get("signatures") or []
        if signatures:
            protected = json.loads(_b64url(signatures[0]["protected"]))
            payload = raw[: protected["formatLength"]] + _b64url(protected["formatTail"])
            return "sha256:" + hashlib.sha256(payload).hexdigest()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _copy(source: str, destination: str, options: list[str], digest_dir: Path) -> str:
    digest_file = digest_dir / "digest"
    run("copy", "--quiet", "--digestfile", str(digest_file), *options, source, destination)
    return digest_file.read_text().strip()


def push(
    layout_dir: Path,
    ref_name: str,
    registry_url: str,
    repo_tag: str,
    *,
    fmt: str | None = None,
    all_platforms: bool = False,
) -> str:
    """Copy oci:LAYOUT:REF to docker://REGISTRY/REPO_TAG; the pushed manifest's digest.

    `fmt` None keeps the source format (OCI stays OCI, digest unchanged); "oci", "v2s2" or
    "v2s1" converts. `all_platforms` pushes an index with every platform (else skopeo picks
    the host's platform and pushes only that image).
    `repo_tag` is `name:tag`.
    """
    options = ["--dest-tls-verify=false", "--dest-no-creds"]
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
        options += ["--format", fmt]
    if all_platforms:
        options += ["--multi-arch", "all"]
    with tempfile.TemporaryDirectory(prefix="skopeo-push-") as scratch:
        return _copy(
            f"oci:{layout_dir}:{ref_name}",
            docker_ref(registry_url, repo_tag),
            options,
            Path(scratch),
        )


def inspect_raw(registry_url: str, ref: str, authfile: Path | None = None) -> bytes:
    """The manifest bytes the registry serves for name:tag or name@digest, anonymously or
    with the credentials of ``authfile``."""
    creds = ["--authfile", str(authfile)] if authfile else ["--no-creds"]
    # Bytes, not text: the digest must be of the exact bytes served.
    return run_bytes(
        "inspect", "--raw", "--tls-verify=false", *creds, docker_ref(registry_url, ref)
    )


def inspect_digest(registry_url: str, ref: str) -> str:
    """The digest of the manifest (or index) the registry serves for name:tag or name@digest."""
    return manifest_digest(inspect_raw(registry_url, ref))


@dataclass
class PullResult:
    path: Path
    digest: str  # of the top-level manifest or index as pulled
    manifest: bytes
    instances: dict[str, bytes] = field(default_factory=dict)  # per-platform, with --all
    blobs: list[str] = field(default_factory=list)  # every blob digest written, re-verified


def pull(
    registry_url: str,
    ref: str,
    dest_dir: Path,
    *,
    all_platforms: bool = False,
    transport: str = "dir",
) -> PullResult:
    """Copy docker://REGISTRY/REF into `dest_dir` (`dir:` or `oci:` transport) and verify it.

    skopeo checks every blob against its digest while copying (and the manifest too when REF
    is a digest); this re-hashes every blob written, so a pull can only succeed on content the
    registry served intact. Without `all_platforms` an index resolves to the host platform.
    """
    if transport not in ("dir", "oci"):
        raise ValueError(f"transport must be dir or oci, not {transport!r}")
    dest_dir = Path(dest_dir)
    options = ["--src-tls-verify=false", "--src-no-creds"]
    if all_platforms:
        options += ["--multi-arch", "all"]
    destination = f"dir:{dest_dir}" if transport == "dir" else f"oci:{dest_dir}:pulled"
    with tempfile.TemporaryDirectory(prefix="skopeo-pull-") as scratch:
        digest = _copy(docker_ref(registry_url, ref), destination, options, Path(scratch))
    if transport == "dir":
        return _read_dir(dest_dir, digest)
    return _read_oci(dest_dir, digest)


def _verify_blob(path: Path, digest: str) -> None:
    actual = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != digest:
        raise SkopeoError(f"pulled blob {path} hashes to {actual}, not {digest}")


def _is_hex64(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _read_dir(root: Path, digest: str) -> PullResult:
    # dir: layout: manifest.json (top level), <hex>.manifest.json per instance with --all,
    # and one file per blob named by its bare hex digest.
    result = PullResult(root, digest, (root / "manifest.json").read_bytes())
    for path in sorted(root.iterdir()):
        if _is_hex64(path.name):
            _verify_blob(path, "sha256:" + path.name)
            result.blobs.append("sha256:" + path.name)
        elif path.name.endswith(".manifest.json") and _is_hex64(path.name[:64]):
            instance = path.read_bytes()
            result.instances["sha256:" + path.name[:64]] = instance
    if manifest_digest(result.manifest) != digest:
        raise SkopeoError(f"{root}/manifest.json does not hash to the pulled digest {digest}")
    for instance_digest, instance in result.instances.items():
        if manifest_digest(instance) != instance_digest:
            raise SkopeoError(f"instance manifest {instance_digest} in {root} is corrupt")
    return result


def _read_oci(root: Path, digest: str) -> PullResult:
    blob_dir = root / "blobs" / "sha256"
    for path in sorted(blob_dir.iterdir()):
        _verify_blob(path, "sha256:" + path.name)
    manifest = (blob_dir / digest.removeprefix("sha256:")).read_bytes()
    result = PullResult(root, digest, manifest)
    result.blobs = ["sha256:" + path.name for path in sorted(blob_dir.iterdir())]
    document = json.loads(manifest)
    if "manifests" in document:
        for entry in document["manifests"]:
            child = blob_dir / entry["digest"].removeprefix("sha256:")
            if child.exists():
                result.instances[entry["digest"]] = child.read_bytes()
    return result


@dataclass(frozen=True)
class PushedImage:
    """One reference pushed to a registry and the digest the registry stored it under."""

    repository: str
    tag: str
    digest: str
    fmt: str  # oci, v2s2, v2s1 or index

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def digest_ref(self) -> str:
        return f"{self.repository}@{self.digest}"


@dataclass(frozen=True)
class PopulatedRegistry:
    """A filesystem registry holding every standard image, pushed by push_standard."""

    server: RegistryServer
    root: Path  # the filesystem driver's rootdirectory: holds docker/registry/v2
    images: StandardImages
    pushed: dict[str, PushedImage]  # keyed like the StandardImages fields


@dataclass(frozen=True)
class PushSource:
    """A registry on fresh filesystem storage that a test pushes standard images into, one by
    one, to make the source it scrapes (``root`` is what ``--data-dir`` names)."""

    server: RegistryServer
    images: StandardImages

    @property
    def root(self) -> Path:
        return self.server.storage_root

    def push(self, ref_name: str, repo_tag: str, *, all_platforms: bool = False) -> str:
        """The standard image ``ref_name`` pushed as ``repo_tag``: its manifest's digest."""
        return push(
            self.images.layout, ref_name, self.server.url, repo_tag, all_platforms=all_platforms
        )


def push_standard(images: StandardImages, registry_url: str) -> dict[str, PushedImage]:
    """Push every StandardImages entry, each its own way; keys are the StandardImages fields.

    shared_a and shared_b go to two repositories, so one blob is linked from both.
    """
    plan = [
        ("plain", "library/plain", "1.0", "oci", "plain"),
        ("schema2", "team/schema2", "latest", "v2s2", "schema2"),
        ("multiarch", "team/multiarch", "v1", "index", "multiarch"),
        ("schema1", "legacy/schema1", "old", "v2s1", "schema1"),
        ("shared_a", "shared/a", "1", "oci", "shared-a"),
        ("shared_b", "shared/b", "1", "oci", "shared-b"),
    ]
    pushed: dict[str, PushedImage] = {}
    for key, repository, tag, fmt, ref_name in plan:
        digest = push(
            images.layout,
            ref_name,
            registry_url,
            f"{repository}:{tag}",
            fmt=None if fmt == "index" else fmt,
            all_platforms=fmt == "index",
        )
        pushed[key] = PushedImage(repository, tag, digest, fmt)
    return pushed
