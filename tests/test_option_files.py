"""Files given to ``--registry-config``, ``--have`` and ``--images-file`` (issue 18).

Only a regular file or ``-`` (standard input) is read: a FIFO, a device, a socket or a
directory is refused at once in one line naming the option and the path, exit 2 (a FIFO used
to hang, ``/dev/zero`` to grow without end). Each is read up to a cap, decoded with a one-line
error naming where, and Ctrl-C while one is read is exit 130 in one line.

Hangs and signals are tried on the real CLI in a subprocess with a timeout, under a memory
limit (a regression fails instead of taking the machine) and with SIGINT's default action.
"""

from __future__ import annotations

import fcntl
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scraper_core.optfile import (
    HAVE_FILE_CAP,
    IMAGES_FILE_CAP,
    MIB,
    REGISTRY_CONFIG_CAP,
    cap_text,
)
from tests.support.cli import run_cli
from tests.support.cli_process import scrape_command
from tests.support.reliability import record
from tests.support.trees import one_image_tree

TIMEOUT = 60.0
#: Far above what the CLI needs; a read that never ends hits it and fails.
MEMORY_LIMIT = 2 * 1024 * MIB
IMAGE = "team/app:v1"
OPTIONS = ("--registry-config", "--have", "--images-file")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return one_image_tree(tmp_path / "data")


def command(option: str, path: str, source: Path, output: Path) -> list[str]:
    """A command that reads ``path`` through ``option`` (and needs nothing else from it)."""
    if option == "--registry-config":
        return ["list", "--registry-config", path]
    images = [] if option == "--images-file" else [IMAGE]
    return [
        "--data-dir",
        str(source),
        "--output-dir",
        str(output),
        "--dry-run",
        option,
        path,
        *images,
    ]


def _child_setup() -> None:
    # What the test depends on, whatever the runner inherited.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def start(args: list[str], stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if key != "REGISTRY_SCRAPER_DEBUG"}
    return subprocess.Popen(
        [*scrape_command(), *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=_child_setup,
    )


def finish(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    try:
        _out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return process.returncode, err.decode(errors="replace")


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


# Not regular files.


def make_fifo(path: Path) -> Iterator[str]:
    os.mkfifo(path)
    yield str(path)


def make_directory(path: Path) -> Iterator[str]:
    path.mkdir()
    yield str(path)


def make_socket(path: Path) -> Iterator[str]:
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        yield str(path)


def make_device(_path: Path) -> Iterator[str]:
    yield "/dev/zero"


KINDS: dict[str, Callable[[Path], Iterator[str]]] = {
    "a FIFO": make_fifo,
    "a directory": make_directory,
    "a socket": make_socket,
    "a character device": make_device,
}


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_only_a_regular_file_is_read(tmp_path: Path, source: Path, option: str, kind: str) -> None:
    output = tmp_path / "copy"
    maker = KINDS[kind](tmp_path / "special.json")
    path = next(maker)
    started = time.monotonic()
    code, stderr = finish(start(command(option, path, source, output)))
    assert code == 2, stderr
    line = one_error_line(stderr)
    assert line == f"error: {option} {path}: is {kind}; give a regular file or -"
    assert not output.exists()
    maker.close()
    record(
        "option-file-not-regular",
        figures={"slowest refusal (s)": round(time.monotonic() - started, 2)},
    )


# Caps.


def test_standard_input_is_read_up_to_the_cap(tmp_path: Path) -> None:
    endless = b"# a comment\n" * (REGISTRY_CONFIG_CAP // 12 + 1)
    result = run_cli("list", "--registry-config", "-", stdin=endless)
    assert result.exit_code == 2, result.output
    assert one_error_line(result.stderr) == (
        "error: --registry-config standard input: larger than 1 MiB, the cap for --registry-config"
    )


def test_a_file_past_the_cap_is_refused_unread(tmp_path: Path, source: Path) -> None:
    have = tmp_path / "huge.json"
    with have.open("wb") as sparse:
        sparse.truncate(HAVE_FILE_CAP + 1)
    result = run_cli(*command("--have", str(have), source, tmp_path / "copy"))
    assert result.exit_code == 2, result.output
    assert one_error_line(result.stderr) == (
        f"error: --have {have}: larger than 256 MiB, the cap for --have"
    )


def test_the_caps_are_in_the_help() -> None:
    """--help must not import optfile (tests/test_cli_startup.py): the CLI says the caps in
    its own words, and this keeps them equal."""
    text = " ".join(run_cli("list", "--help").output.split())
    assert f"at most {cap_text(REGISTRY_CONFIG_CAP)}, or -" in text
    text = " ".join(run_cli("copy", "--help").output.split())
    assert f"at most {cap_text(HAVE_FILE_CAP)}, or -" in text
    assert f"at most {cap_text(IMAGES_FILE_CAP)}, or -" in text


def test_standard_input_works_for_each_option(tmp_path: Path, source: Path) -> None:
    config = f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {source}\n"
    listed = run_cli("list", "--registry-config", "-", stdin=config.encode())
    assert listed.exit_code == 0, listed.output
    assert "team/app" in listed.stdout
    args = command("--images-file", "-", source, tmp_path / "copy")
    assert run_cli(*args, stdin=f"{IMAGE}  # the app\n".encode()).exit_code == 0
    inventory = run_cli("inventory", "--data-dir", str(source))
    have = run_cli(*command("--have", "-", source, tmp_path / "copy"), stdin=inventory.stdout_bytes)
    assert have.exit_code == 0, have.output
    assert not (tmp_path / "copy").exists()


# Standard input given twice.

#: Pairs of options both given ``-``, and the command each pair is tried on.
TWICE = [
    ("--have", "--images-file", "copy"),
    ("--have", "--have", "copy"),
    ("--registry-config", "--have", "copy"),
    ("--registry-config", "--images-file", "copy"),
    ("--registry-config", "--have", "verify"),
]


@pytest.mark.parametrize(("first", "second", "command_name"), TWICE)
def test_standard_input_for_two_options_is_refused_naming_both(
    tmp_path: Path, source: Path, first: str, second: str, command_name: str
) -> None:
    output = tmp_path / "copy"
    where = (
        ["--registry-config", "-"]
        if first == "--registry-config"
        else ["--data-dir", str(source), first, "-"]
    )
    if command_name == "verify":
        args = ["verify", *where, second, "-"]
    else:
        args = [*where, "--output-dir", str(output), second, "-", IMAGE]
    # What is on standard input would do for either option: only the refusal can stop it.
    config = f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {source}\n"
    result = run_cli(*args, stdin=config.encode())
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    assert f"{first} - and {second} -" in line, line
    assert "standard input" in line
    assert not output.exists()


# Decoding.


@pytest.mark.parametrize("option", OPTIONS)
def test_text_that_is_not_utf8_is_one_line_naming_where(
    tmp_path: Path, source: Path, option: str
) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"# written on a Latin-1 machine\n# caf\xe9\n")
    result = run_cli(*command(option, str(path), source, tmp_path / "copy"))
    assert result.exit_code == 2, result.output
    assert one_error_line(result.stderr) == (
        f"error: {option} {path}: not UTF-8 text: byte 0xe9 at line 2, column 6"
    )
    assert "Traceback" not in result.output


def test_a_byte_order_mark_is_not_part_of_the_text(tmp_path: Path, source: Path) -> None:
    bom = b"\xef\xbb\xbf"
    images, have = tmp_path / "images.txt", tmp_path / "have.json"
    images.write_bytes(bom + IMAGE.encode() + b"\n")
    have.write_bytes(bom + run_cli("inventory", "--data-dir", str(source)).stdout_bytes)
    args = command("--images-file", str(images), source, tmp_path / "copy")
    result = run_cli(*args, "--have", str(have))
    assert result.exit_code == 0, result.output
    assert "0 blobs would copy (0 B)" in result.stdout, result.stdout
    images.write_bytes(bom + b"# caf\xe9\n")
    result = run_cli(*args)
    assert result.stderr == (
        f"error: --images-file {images}: not UTF-8 text: byte 0xe9 at line 1, column 9\n"
    )


# Ctrl-C.


def _unread(fd: int) -> int:
    """Bytes written into the pipe whose read end is ``fd`` that nobody has read yet."""
    return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])


@pytest.mark.parametrize("option", OPTIONS)
def test_ctrl_c_while_reading_standard_input_is_130(
    tmp_path: Path, source: Path, option: str
) -> None:
    read_end, write_end = os.pipe()
    try:
        process = start(command(option, "-", source, tmp_path / "copy"), stdin=read_end)
        # The read end stays open here too: to see when the child has taken what was written.
        os.write(write_end, b"# more to come\n")
        deadline = time.monotonic() + TIMEOUT
        while _unread(read_end) and process.poll() is None:
            assert time.monotonic() < deadline, "the child never read its standard input"
            time.sleep(0.01)
        # It has read, and waits for more (the write end is open): interrupt it.
        process.send_signal(signal.SIGINT)
        code, stderr = finish(process)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert code == 130, stderr
    line = stderr.strip()
    assert "\n" not in line and line.startswith(("error: interrupted", "interrupted")), stderr
    assert not (tmp_path / "copy").exists()
    record("option-file-ctrl-c")


def test_the_probe_sees_the_child_reading() -> None:
    """The Ctrl-C test waits on FIONREAD: it drops to 0 once a reader took the bytes."""
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"abc")
        assert _unread(read_end) == 3
        os.read(read_end, 3)
        assert _unread(read_end) == 0
    finally:
        os.close(read_end)
        os.close(write_end)


def test_children_get_the_default_sigint_action() -> None:
    """The children get SIGINT's default action even when this process ignores it."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import signal; print(signal.getsignal(signal.SIGINT))"],
            preexec_fn=_child_setup,
            capture_output=True,
            timeout=TIMEOUT,
            check=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    assert b"default_int_handler" in probe.stdout
