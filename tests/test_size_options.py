"""One size grammar for every option (issue 20, item 2), through the real CLI.

``--split-size`` (the archive's) and ``-o part_size=`` (a bucket driver's) take the same
spellings, parsed by one function (:mod:`scraper_core.sizes`), and refuse the same ones with
a one-line error naming the option.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from s3_servers import MotoServer

from scraper_core.sizes import parse_size
from tests.support.cli import run_cli as scrape
from tests.support.trees import local_writer

#: Every spelling of 8 KiB and of 8 MiB the grammar takes.
EIGHT_KIB = ("8K", "8KiB", "8k", "8192", "8192B")
EIGHT_MIB = ("8M", "8MiB", "8m", "8388608")
#: Refused everywhere: an SI unit (a million bytes to some tools), no number, a fraction.
BAD = ("8MB", "lots", "8.5M", "-8M", "M")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "source"
    local_writer(root).image("app", "v1", layer_sizes=(40_000,))
    return root


def test_the_grammar() -> None:
    assert {parse_size(text) for text in EIGHT_KIB} == {8 * 1024}
    assert {parse_size(text) for text in EIGHT_MIB} == {8 * 1024 * 1024}
    assert parse_size("4G") == parse_size("4GiB") == 4 << 30
    for text in BAD:
        with pytest.raises(ValueError, match="must be a size such as 512K, 100M or 4GiB"):
            parse_size(text)


def one_line(done: Result) -> str:
    """The refusal: exit 2 and one line, no traceback."""
    assert done.exit_code == 2, done.output
    message = done.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize("spelling", EIGHT_KIB + BAD)
def test_split_size_takes_the_grammar(tmp_path: Path, source: Path, spelling: str) -> None:
    archive = tmp_path / "ship.tar"
    done = scrape("-q", "--data-dir", str(source), "--output-tar", str(archive),
                  "--split-size", spelling, "app:v1")  # fmt: skip
    if spelling in BAD:
        assert f"split size {spelling!r} must be a size such as" in one_line(done)
        assert list(tmp_path.glob("ship.tar*")) == []
        return
    assert done.exit_code == 0, done.output
    volumes = sorted(tmp_path.glob("ship.tar.[0-9]*"))
    assert len(volumes) > 4
    assert all(volume.stat().st_size <= 8 * 1024 for volume in volumes)


@pytest.mark.s3
@pytest.mark.parametrize("spelling", EIGHT_MIB + BAD)
def test_part_size_takes_the_grammar(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, source: Path, spelling: str
) -> None:
    moto_server.use_environment(monkeypatch)
    done = scrape("-q", "--data-dir", str(source),
                  "--output-storage", "s3", "--output-dir", moto_server.make_bucket(),
                  "--output-storage-option", f"endpoint_url={moto_server.endpoint_url}",
                  "--output-storage-option", f"part_size={spelling}", "app:v1")  # fmt: skip
    if spelling in BAD:
        assert "option part_size must be a size such as 512K, 100M or 4GiB" in one_line(done)
    else:
        assert done.exit_code == 0, done.output
