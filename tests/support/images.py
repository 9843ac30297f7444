"""OCI image layouts built in pure Python, deterministic from a seed, for pushing with skopeo.

No network and no container tooling: every blob is computed here, so a test knows every digest
before the registry sees it. Layer payloads are pseudo-random bytes (incompressible), so a
layer's stored size tracks the size asked for and size accounting in tests means something.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import subprocess
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"

# A fixed timestamp everywhere (tar headers, gzip header, config) keeps builds byte-identical.
FIXED_MTIME = 1_700_000_000
FIXED_CREATED = "2023-11-14T22:13:20Z"

Seed = int | str


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json_bytes(document: object) -> bytes:
    return json.dumps(document, indent=2).encode()


@dataclass(frozen=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None

    def as_json(self) -> dict[str, str]:
        result = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            result["variant"] = self.variant
        return result


@dataclass(frozen=True)
class Layer:
    """One gzip'd tar layer: `data` is the blob as stored, `diff_id` hashes the plain tar."""

    data: bytes
    diff_id: str

    @property
    def digest(self) -> str:
        return sha256_digest(self.data)

    @property
    def size(self) -> int:
        return len(self.data)

    def descriptor(self) -> dict[str, object]:
        return {"mediaType": OCI_LAYER_GZIP, "digest": self.digest, "size": self.size}


def layer_from_tar(tar_bytes: bytes) -> Layer:
    # mtime=0 and no file name in the gzip header: the same tar always compresses identically.
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as stream:
        stream.write(tar_bytes)
    return Layer(data=buffer.getvalue(), diff_id=sha256_digest(tar_bytes))


def _tar_of(files: Iterable[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = FIXED_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def make_layer(seed: Seed, size: int) -> Layer:
    """A layer holding `size` pseudo-random bytes in one file; equal seeds give equal blobs."""
    rng = random.Random(f"layer:{seed}")
    # randbytes takes at most 2**28 bytes at once; equal chunks keep small layers unchanged.
    step = 1 << 24
    payload = b"".join(rng.randbytes(min(step, size - start)) for start in range(0, size, step))
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in str(seed))
    return layer_from_tar(_tar_of([(f"data/{name}.bin", payload)]))


def make_file_layer(files: dict[str, bytes]) -> Layer:
    """A layer with the given files (sorted by name, so the result is deterministic)."""
    return layer_from_tar(_tar_of(sorted(files.items())))


@dataclass(frozen=True)
class BuiltImage:
    ref_name: str | None
    platform: Platform
    manifest: bytes
    config: bytes
    layers: tuple[Layer, ...]

    @property
    def manifest_digest(self) -> str:
        return sha256_digest(self.manifest)

    @property
    def manifest_size(self) -> int:
        return len(self.manifest)

    @property
    def config_digest(self) -> str:
        return sha256_digest(self.config)

    @property
    def config_size(self) -> int:
        return len(self.config)

    @property
    def layer_digests(self) -> list[str]:
        return [layer.digest for layer in self.layers]

    @property
    def layer_sizes(self) -> list[int]:
        return [layer.size for layer in self.layers]

    @property
    def diff_ids(self) -> list[str]:
        return [layer.diff_id for layer in self.layers]

    @property
    def blob_digests(self) -> list[str]:
        """Manifest, config and layers: every blob a registry must hold for this image."""
        return [self.manifest_digest, self.config_digest, *self.layer_digests]

    def descriptor(self) -> dict[str, object]:
        return {
            "mediaType": OCI_MANIFEST,
            "digest": self.manifest_digest,
            "size": self.manifest_size,
            "platform": self.platform.as_json(),
        }


@dataclass(frozen=True)
class BuiltIndex:
    ref_name: str
    index: bytes
    images: tuple[BuiltImage, ...]

    @property
    def digest(self) -> str:
        return sha256_digest(self.index)

    @property
    def size(self) -> int:
        return len(self.index)

    @property
    def blob_digests(self) -> list[str]:
        digests = [self.digest]
        for image in self.images:
            digests += [d for d in image.blob_digests if d not in digests]
        return digests


class OCILayout:
    """An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/...`)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        if not (self.root / "index.json").exists():
            self._write_index([])

    def put_blob(self, data: bytes) -> str:
        digest = sha256_digest(data)
        path = self.root / "blobs" / "sha256" / digest.removeprefix("sha256:")
        if not path.exists():
            path.write_bytes(data)
        return digest

    def blob(self, digest: str) -> bytes:
        return (self.root / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()

    def refs(self) -> dict[str, str]:
        """ref.name annotation -> manifest (or index) digest, as listed in index.json."""
        result: dict[str, str] = {}
        for entry in self._read_index():
            name = entry.get("annotations", {}).get(REF_NAME_ANNOTATION)
            if name:
                result[name] = entry["digest"]
        return result

    def add_ref(self, ref_name: str, descriptor: dict[str, object]) -> None:
        # Replacing an existing ref keeps rebuilding into the same layout idempotent.
        entries = [
            entry
            for entry in self._read_index()
            if entry.get("annotations", {}).get(REF_NAME_ANNOTATION) != ref_name
        ]
        entry: dict[str, Any] = {k: v for k, v in descriptor.items() if k != "platform"}
        entry["annotations"] = {REF_NAME_ANNOTATION: ref_name}
        entries.append(entry)
        self._write_index(entries)

    def _read_index(self) -> list[dict[str, Any]]:
        document = json.loads((self.root / "index.json").read_text())
        manifests: list[dict[str, Any]] = document.get("manifests", [])
        return manifests

    def _write_index(self, manifests: list[dict[str, Any]]) -> None:
        document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        (self.root / "index.json").write_text(json.dumps(document, indent=2))


def _config_document(seed: Seed, platform: Platform, layers: Sequence[Layer]) -> dict[str, object]:
    document: dict[str, object] = {
        "created": FIXED_CREATED,
        "architecture": platform.architecture,
        "os": platform.os,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/true"],
            "Labels": {"tests.support.seed": str(seed)},
        },
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        # One history entry per layer: converting to docker schema1 (skopeo --format v2s1)
        # refuses a config whose non-empty history does not match the layer count.
        "history": [
            {"created": FIXED_CREATED, "created_by": f"tests.support layer {n}"}
            for n in range(len(layers))
        ],
    }
    if platform.variant:
        document["variant"] = platform.variant
    return document


def _write_image(
    layout: OCILayout,
    ref_name: str | None,
    *,
    seed: Seed,
    layer_sizes: Sequence[int],
    platform: Platform,
    shared_layers: Sequence[Layer],
) -> BuiltImage:
    own = [make_layer(f"{seed}/{n}", size) for n, size in enumerate(layer_sizes)]
    layers = (*shared_layers, *own)
    config = _json_bytes(_config_document(seed, platform, layers))
    manifest = _json_bytes(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG,
                "digest": sha256_digest(config),
                "size": len(config),
            },
            "layers": [layer.descriptor() for layer in layers],
        }
    )
    for blob in (config, *(layer.data for layer in layers), manifest):
        layout.put_blob(blob)
    image = BuiltImage(ref_name, platform, manifest, config, tuple(layers))
    if ref_name is not None:
        layout.add_ref(ref_name, image.descriptor())
    return image


def build_image(
    layout_dir: Path,
    ref_name: str,
    *,
    seed: Seed,
    layer_sizes: Sequence[int] = (4096, 20000),
    arch: str = "amd64",
    os: str = "linux",
    variant: str | None = None,
    shared_layers: Sequence[Layer] = (),
) -> BuiltImage:
    """One single-platform image, listed in index.json under `ref_name`.

    `shared_layers` come first, then one fresh layer per entry of `layer_sizes`; pass the same
    Layer (from make_layer) to two images to make them share a blob.
    """
    return _write_image(
        OCILayout(layout_dir),
        ref_name,
        seed=seed,
        layer_sizes=layer_sizes,
        platform=Platform(os, arch, variant),
        shared_layers=shared_layers,
    )


DEFAULT_PLATFORMS: tuple[tuple[str, str, str | None], ...] = (
    ("linux", "amd64", None),
    ("linux", "arm64", "v8"),
)


def build_index(
    layout_dir: Path,
    ref_name: str,
    *,
    seed: Seed,
    platforms: Sequence[tuple[str, str, str | None]] = DEFAULT_PLATFORMS,
    layer_sizes: Sequence[int] = (4096, 20000),
    shared_layers: Sequence[Layer] = (),
) -> BuiltIndex:
    """A multi-platform image: one image per platform plus an OCI index, listed as `ref_name`.

    The per-platform manifests are blobs only (not listed in index.json), as a registry
    would see them after pushing the index with `--all`.
    """
    layout = OCILayout(layout_dir)
    images = tuple(
        _write_image(
            layout,
            None,
            seed=f"{seed}/{os_}/{arch}/{variant or ''}",
            layer_sizes=layer_sizes,
            platform=Platform(os_, arch, variant),
            shared_layers=shared_layers,
        )
        for os_, arch, variant in platforms
    )
    index = _json_bytes(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [image.descriptor() for image in images],
        }
    )
    digest = layout.put_blob(index)
    layout.add_ref(ref_name, {"mediaType": OCI_INDEX, "digest": digest, "size": len(index)})
    return BuiltIndex(ref_name, index, images)


@dataclass(frozen=True)
class StandardImages:
    """The images every end-to-end test can rely on, all in one OCI layout (`layout`).

    Each is meant to be pushed a particular way (see tests.support.skopeo.push_standard):
    `plain` as OCI, `schema2` converted to docker schema2, `multiarch` as an OCI index with
    both platforms, `schema1` converted to signed docker schema1, `shared_a`/`shared_b` as two
    images whose first layer (`shared_layer`) is the same blob.
    """

    layout: Path
    plain: BuiltImage
    schema2: BuiltImage
    multiarch: BuiltIndex
    schema1: BuiltImage
    shared_a: BuiltImage
    shared_b: BuiltImage
    shared_layer: Layer


def build_standard_images(layout_dir: Path) -> StandardImages:
    layout_dir = Path(layout_dir)
    shared = make_layer("shared", 12000)
    return StandardImages(
        layout=layout_dir,
        plain=build_image(layout_dir, "plain", seed="plain"),
        schema2=build_image(layout_dir, "schema2", seed="schema2", layer_sizes=(3000, 9000)),
        multiarch=build_index(layout_dir, "multiarch", seed="multiarch", layer_sizes=(5000,)),
        schema1=build_image(layout_dir, "schema1", seed="schema1", layer_sizes=(2000, 7000)),
        shared_a=build_image(
            layout_dir, "shared-a", seed="shared-a", layer_sizes=(1500,), shared_layers=[shared]
        ),
        shared_b=build_image(
            layout_dir, "shared-b", seed="shared-b", layer_sizes=(2500,), shared_layers=[shared]
        ),
        shared_layer=shared,
    )


def unpack_with_umoci(umoci: str, layout_dir: Path, ref_name: str, bundle_dir: Path) -> Path:
    """Unpack with umoci, an independent OCI implementation that checks every blob digest and
    every rootfs.diff_id; returns the unpacked rootfs. Proves the layouts built here are valid.
    """
    result = subprocess.run(
        [umoci, "unpack", "--rootless", "--image", f"{layout_dir}:{ref_name}", str(bundle_dir)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace")
        raise RuntimeError(f"umoci unpack {layout_dir}:{ref_name} failed:\n{message}")
    return Path(bundle_dir) / "rootfs"
