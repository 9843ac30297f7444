"""The reliability figures: recorded per test file, merged across sessions, rendered in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import reliability


@pytest.fixture(autouse=True)
def private_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    # This file's fake rows must not reach the session's real report.
    monkeypatch.setattr(reliability, "_rows", {})


def record_from(monkeypatch: pytest.MonkeyPatch, test_file: str, **figures: int) -> None:
    monkeypatch.setenv("PYTEST_CURRENT_TEST", f"{test_file}::test_x (call)")
    reliability.record(
        "faults",
        title="faults",
        how="a proxy",
        outcome="all copied",
        figures=dict(figures),
    )


def test_rows_sum_runs_and_figures_over_test_files(monkeypatch: pytest.MonkeyPatch) -> None:
    record_from(monkeypatch, "tests/test_a.py", requests=10)
    record_from(monkeypatch, "tests/test_a.py", requests=5)
    record_from(monkeypatch, "tests/test_b.py", requests=1)
    (row,) = reliability.rows()
    assert (row.runs, row.figures, row.held) == (3, {"requests": 16}, True)
    assert [source for source, _row in reliability.parts()] == [
        "tests/test_a.py",
        "tests/test_b.py",
    ]


def test_a_later_session_replaces_only_the_files_it_ran(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    results = tmp_path / "results.json"
    record_from(monkeypatch, "tests/test_a.py", requests=10)
    record_from(monkeypatch, "tests/test_b.py", requests=1)
    reliability.save_results(reliability.parts(), results, when="2026-01-01")
    monkeypatch.setattr(reliability, "_rows", {})
    record_from(monkeypatch, "tests/test_b.py", requests=7)
    rows = reliability.save_results(reliability.parts(), results, when="2026-01-02")
    rendered = " ".join(reliability.render(rows).split())
    assert "Runs: 2, requests 17. Held: yes: all copied." in rendered
    assert "Measured 2026-01-01 to 2026-01-02." in rendered


def test_a_run_that_did_not_hold_shows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "tests/test_a.py::test_x (call)")
    with (
        pytest.raises(AssertionError),
        reliability.measuring("k", title="t", how="h", outcome="fine") as measured,
    ):
        measured.figures["requests"] = 3
        raise AssertionError("blob corrupt at a final path\nmore detail")
    rows = reliability.save_results(reliability.parts(), tmp_path / "r.json")
    rendered = " ".join(reliability.render(rows).split())
    assert "Runs: 1, requests 3. Held: NO: did not hold: blob corrupt at a final path." in rendered


def test_docs_are_rewritten_between_the_markers_only(tmp_path: Path) -> None:
    docs = tmp_path / "reliability.md"
    docs.write_text(
        f"# Prose\n\nkept\n\n{reliability.BEGIN}\nold figures\n{reliability.END}\n\nafter\n"
    )
    rows = [
        {
            "key": "k",
            "title": "a very long title " * 4,
            "how": "how " * 30,
            "parts": {"f": {"runs": 2, "held": True, "outcome": "ok", "figures": {"x": 1.5},
                            "measured": "2026-01-01"}},
        }
    ]  # fmt: skip
    reliability.write_docs(rows, docs)
    text = docs.read_text()
    assert text.startswith("# Prose\n\nkept\n\n") and text.endswith(f"{reliability.END}\n\nafter\n")
    assert "old figures" not in text and "Runs: 2, x 1.5. Held: yes: ok." in " ".join(text.split())
    assert max(len(line) for line in text.splitlines()) <= 100
    docs.write_text("no markers\n")
    with pytest.raises(ValueError, match="markers"):
        reliability.write_docs(rows, docs)


def test_a_row_takes_its_words_from_the_table_unless_the_test_gives_them() -> None:
    title, how, outcome = reliability.described("archive-corrupt-blob")
    assert title.startswith("Corrupt source blob") and how and outcome
    assert reliability.described("archive-corrupt-blob", outcome="measured")[2] == "measured"
    with pytest.raises(KeyError, match="'no-such-row'"):
        reliability.record("no-such-row")


def test_every_row_of_the_table_is_named_by_a_test() -> None:
    root = Path(__file__).resolve().parent.parent
    files = [*root.glob("tests/test_*.py"), *root.glob("plugins/*/tests/test_*.py")]
    named = "".join(path.read_text() for path in files)
    keys = reliability._described()
    assert keys and [key for key in keys if f'"{key}"' not in named] == []
