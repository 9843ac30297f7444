"""Each image judged on its own manifests, through the real registry 2.8 (issue 18, item 5).

Two images pushed with the HTTP API share a layer; one manifest declares its size one byte too
large (registry 2.8 accepts and serves both, as it did for third parties' test images). Scraped
in either order, the sound image is copied and a second registry serves it to skopeo; the wrong
one fails alone, its message stating the layer's true size.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from scraper_core.manifest import OCI_MANIFEST
from tests.support.cli import run_cli
from tests.support.registry import RegistryFactory
from tests.support.skopeo import SkopeoError, pull
from tests.support.source_guard import SourceGuard

pytestmark = pytest.mark.e2e

NAME = "ci/multi"
WRONG, SOUND = f"{NAME}:1.0.0", f"{NAME}:3"


def layer_bytes() -> bytes:
    """A gzipped tar holding one small file, as an image layer is."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = b"hello from a shared layer\n" * 20
        info = tarfile.TarInfo("etc/motd")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def manifest(config: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
    }


def test_the_sound_image_is_served_and_the_wrong_one_fails_with_the_true_size(
    filesystem_registry: RegistryFactory,
    skopeo_binary: str,
    source_unchanged: SourceGuard,
    tmp_path: Path,
) -> None:
    source = filesystem_registry()
    assert source.rootdir is not None
    layer = source.upload_blob(NAME, layer_bytes())
    for tag, declared in (("1.0.0", layer["size"] + 1), ("3", layer["size"])):
        config = source.upload_blob(
            NAME, json.dumps({"architecture": "amd64", "os": "linux", "tag": tag}).encode()
        )
        source.put_manifest(NAME, tag, manifest(config, {**layer, "size": declared}))
    # The registry serves the wrong manifest as pushed: the mistake is the image's own.
    status, _headers, body = source.get_manifest(NAME, "1.0.0")
    assert status == 200 and json.loads(body)["layers"][0]["size"] == layer["size"] + 1
    source_unchanged.watch_local(source.rootdir)

    expected_error = (
        f"error: {WRONG}: blob {layer['digest']} is {layer['size']} bytes, "
        f"its manifest says {layer['size'] + 1}"
    )
    for number, order in enumerate([(WRONG, SOUND), (SOUND, WRONG)]):
        output = tmp_path / f"copy-{number}"
        args = ["--storage", "local", "--data-dir", str(source.rootdir)]
        result = run_cli(*args, "--output-dir", str(output), *order)
        assert result.exit_code == 1, result.output
        assert expected_error in result.stderr.splitlines(), result.stderr
        assert "1 of 2 images copied" in result.stderr

    served = filesystem_registry(tmp_path / "copy-0")
    pulled = pull(served.url, SOUND, tmp_path / "pulled")
    assert layer["digest"] in pulled.blobs
    with pytest.raises(SkopeoError):
        pull(served.url, WRONG, tmp_path / "not-pulled")
