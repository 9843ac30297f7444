"""Archives as an operator handles them at the far side."""

from __future__ import annotations

import subprocess
from pathlib import Path

#: tar's flag for each archive kind scrape writes.
TAR_FLAGS = {".tar": [], ".tar.gz": ["-z"], ".tar.zst": ["--zstd"]}
#: Seconds cat and tar may take over a test's small archive.
TIMEOUT = 120


def extract(files: list[Path], into: Path, suffix: str) -> None:
    """``cat FILES | tar -x`` into the new folder ``into``: the volumes of a split archive in
    order, as the README says; streamed, as an operator's shell would."""
    into.mkdir()
    cat = subprocess.Popen(["cat", *map(str, files)], stdout=subprocess.PIPE)
    assert cat.stdout is not None
    with cat.stdout:
        untar = subprocess.run(
            ["tar", "-x", *TAR_FLAGS[suffix], "-C", str(into)], stdin=cat.stdout, timeout=TIMEOUT
        )
    assert cat.wait(timeout=TIMEOUT) == 0 and untar.returncode == 0
