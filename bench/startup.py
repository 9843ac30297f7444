"""Start-up: `scrape --help` against the interpreter importing its two dependencies, and which
modules `--help` imports (no cloud SDK may be among them)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from bench.measure import SCRAPE, Sample, interleaved, run_quiet
from bench.report import Row, Target

SDKS = ("boto3", "botocore", "s3transfer", "obstore", "google", "azure")
#: What the console script does, under -X importtime.
_HELP_IN_PROCESS = (
    "import sys; sys.argv = ['scrape', '--help']\nfrom scraper_core.cli import main\nmain()\n"
)


@dataclass(frozen=True)
class Import:
    module: str
    cumulative_us: int


def imports_of(args: list[str], env: dict[str, str] | None = None) -> list[Import]:
    """Every module ``python -X importtime ARGS`` imports, with its cumulative import time."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    found = []
    for line in result.stderr.splitlines():
        # "import time:   self [us] | cumulative | imported package"
        if not line.startswith("import time:") or "imported package" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        found.append(Import(name.strip(), int(cumulative)))
    return found


def help_imports() -> list[Import]:
    """Every module `scrape --help` imports, with its cumulative import time."""
    return imports_of(["-c", _HELP_IN_PROCESS])


def slowest(imports: list[Import], count: int = 5) -> str:
    """The top-level imports that cost most, e.g. ``click 31 ms``."""
    top = [item for item in imports if "." not in item.module]
    top.sort(key=lambda item: item.cumulative_us, reverse=True)
    return ", ".join(f"{item.module} {item.cumulative_us / 1000:.0f} ms" for item in top[:count])


def startup_rows(repeat: int) -> list[Row]:
    # Short commands: more repetitions for a stable median.
    samples = interleaved(
        {
            "help": (lambda: run_quiet([SCRAPE, "--help"]), None),
            "import": (lambda: run_quiet([sys.executable, "-c", "import click, pluggy"]), None),
        },
        repeat * 5,
    )
    imports = help_imports()
    sdks = sorted({item.module.split(".")[0] for item in imports} & set(SDKS))
    return [
        Row(
            "scrape --help vs import click, pluggy",
            "s",
            samples["help"],
            samples["import"],
            "python -c 'import click, pluggy'",
            Target("<=", 1.5),  # issue 13; it was 3x before
            notes=[f"{len(imports)} modules imported; slowest: {slowest(imports)}"],
        ),
        Row(
            "cloud SDK modules imported by --help",
            "modules",
            Sample.of(float(len(sdks))),
            target=Target("==", 0, absolute=True, unit="modules"),
            notes=[f"SDKs imported: {', '.join(sdks) or 'none'} (checked: {', '.join(SDKS)})"],
        ),
    ]
