"""`make demo`: the whole job on a built-in sample, with the real registry and skopeo.

1. builds three small images and pushes them into a registry on ./demo/data;
2. scrapes one of them (`demo/app:1.0`) into ./demo/data-copy with the `scrape` command;
3. serves the copy with a second registry and pulls the image back with skopeo;
4. shows that the images not asked for are absent from the copy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.images import build_image, build_index  # noqa: E402
from tests.support.registry import RegistryServer  # noqa: E402
from tests.support.skopeo import pull, push  # noqa: E402

DEMO = REPO / "demo"


def say(text: str) -> None:
    print(f"\n== {text}", flush=True)


def main() -> int:
    shutil.rmtree(DEMO, ignore_errors=True)
    layout = DEMO / "oci-layout"
    say("building sample images")
    build_image(layout, "app", seed="demo-app", layer_sizes=(200_000, 50_000))
    build_image(layout, "tool", seed="demo-tool", layer_sizes=(30_000,))
    build_index(layout, "multi", seed="demo-multi", layer_sizes=(40_000,))
    with RegistryServer.filesystem(DEMO / "data", workdir=DEMO / "run-source") as source:
        say(f"pushing them into a registry on {DEMO / 'data'} ({source.url})")
        app_digest = push(layout, "app", source.url, "demo/app:1.0", fmt="v2s2")
        push(layout, "tool", source.url, "demo/tool:2.0", fmt="oci")
        push(layout, "multi", source.url, "demo/multi:latest", all_platforms=True)
        print(f"pushed demo/app:1.0 {app_digest}, demo/tool:2.0, demo/multi:latest")
    say("scrape --storage local --data-dir demo/data --output-dir demo/data-copy demo/app:1.0")
    scrape = Path(sys.executable).parent / "scrape"
    command = [str(scrape), "--storage", "local", "--data-dir", str(DEMO / "data")]
    command += ["--output-dir", str(DEMO / "data-copy"), "demo/app:1.0"]
    subprocess.run(command, check=True)
    with RegistryServer.filesystem(DEMO / "data-copy", workdir=DEMO / "run-copy") as copy:
        say(f"serving the copy ({copy.url}) and pulling demo/app:1.0 back with skopeo")
        with tempfile.TemporaryDirectory() as scratch:
            pulled = pull(copy.url, "demo/app:1.0", Path(scratch) / "app")
        print(f"pulled {pulled.digest}, {len(pulled.blobs)} blobs verified")
        if pulled.digest != app_digest:
            print("error: the pulled digest differs from the pushed one", file=sys.stderr)
            return 1
        served = [ref for ref in ("tool", "multi") if copy.tags(f"demo/{ref}")]
        print(f"catalog of the copy: {copy.catalog()}")
        if served:
            print(f"error: not asked for, yet served: {served}", file=sys.stderr)
            return 1
    say("done: the copy serves demo/app:1.0 and nothing else")
    print(f"ship it: tar -C {DEMO / 'data-copy'} -czf app.tar.gz docker")
    return 0


if __name__ == "__main__":
    sys.exit(main())
