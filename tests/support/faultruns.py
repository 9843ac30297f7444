"""What a scrape run through a FaultProxy must end with, and what the proxy did, for the
fault tests of every backend (S3, GCS, Azure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import Result

from tests.support.faultproxy import FaultProxy
from tests.support.registry import RegistryFactory
from tests.support.reliability import Figure
from tests.support.skopeo import PushedImage, pull
from tests.support.trees import assert_tree_verifies, temp_files


def check_fault_run(
    result: Result,
    output: Path,
    pushed: dict[str, PushedImage],
    filesystem_registry: RegistryFactory,
    tmp_path: Path,
) -> list[dict[str, Any]]:
    """What every run through faults must end with, whatever broke: no traceback, a copy
    that verifies with no temporary file left, one-line errors, and every image reported
    copied pulled back from a registry serving the copy. Returns the images copied."""
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1), result.output
    if output.exists():
        assert_tree_verifies(output)
        assert temp_files(output) == []
    summary = json.loads(result.stdout)
    ok: list[dict[str, Any]] = [image for image in summary["images"] if image["ok"]]
    for image in summary["images"]:
        if not image["ok"]:
            assert "\n" not in image["error"] and image["error"], image
    served = filesystem_registry(output) if ok else None
    for image in ok:
        key = next(k for k, v in pushed.items() if v.ref == image["reference"])
        target = tmp_path / f"pull-{key}"
        assert served is not None
        pulled = pull(served.url, image["reference"], target, all_platforms=key == "multiarch")
        assert pulled.digest == image["digest"]
    return ok


def fault_figures(proxy: FaultProxy) -> dict[str, Figure]:
    """What the proxy saw and did, for the reliability report (summed over the runs)."""
    faults = proxy.injected
    return {
        "requests": proxy.requests,
        "500s/SlowDowns": faults["error500"] + faults["slowdown"],
        "resets/truncations": faults["reset"] + faults["truncate"],
        "delays": faults["latency"],
    }
