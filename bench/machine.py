"""What the numbers were measured on: CPU, memory, the filesystem under the data, tool versions."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from s3_servers import find_weed

TOOLS = {
    "skopeo": ["skopeo", "--version"],
    "registry": ["docker-registry", "--version"],
    "openssl": ["openssl", "version"],
    "cp": ["cp", "--version"],
}


def _first_line(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError:
        return "not installed"
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0] if lines else "?"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return 0.0


def _filesystem(path: Path) -> str:
    result = subprocess.run(
        ["findmnt", "-n", "-o", "FSTYPE,SOURCE", "--target", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return " on ".join(result.stdout.split()) or "?"


def _os_name() -> str:
    try:
        release = platform.freedesktop_os_release()
    except OSError:
        return platform.system()
    return release.get("PRETTY_NAME", platform.system())


def describe_code(repo: Path) -> dict[str, str]:
    """The commit measured, and the core or plugin files that differ from it (others edit the
    same work tree: numbers from a tree with uncommitted changes must say so)."""

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
        return result.stdout

    changed = git("status", "--porcelain", "--", "scraper_core", "plugins").splitlines()
    return {
        "commit": git("rev-parse", "--short", "HEAD").strip() or "?",
        "uncommitted": ", ".join(line[3:] for line in changed) or "none",
    }


def describe_machine(work: Path) -> dict[str, str]:
    machine = {
        "cpus": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "memory": f"{_memory_gib():.1f} GiB",
        "filesystem": _filesystem(work),
        "os": f"{_os_name()}, Linux {platform.release()}",
        "python": platform.python_version(),
    }
    machine.update({name: _first_line(command) for name, command in TOOLS.items()})
    weed = find_weed()
    machine["seaweedfs"] = _first_line([weed, "version"]) if weed else "not installed"
    return machine
