"""What the commands print: file names taken literally (rich markup in a name is not read), and `--help` at a
readable width when the output is not a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mirlens.cli.app import HELP_WIDTH, _register, app
from mirlens.data.examples import example_path

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()
_register()


def squashed(text: str) -> str:
    """``text`` without whitespace (the console may wrap a long path over lines)."""
    return "".join(text.split())


@pytest.fixture
def odd_dir(tmp_path) -> Path:
    d = tmp_path / "[bold]out"
    d.mkdir()
    return d


@pytest.mark.parametrize("command", [
    ["score", str(example_path("pairs.tsv")), "-o", "{dir}/[bold]scores.tsv"],
    ["predict", "--example", "-o", "{dir}/[bold]windows.tsv"],
    ["predict-genes", "--mirna", str(example_path("mirnas.fa")), "--targets", str(example_path("utrs.fa")),
     "-o", "{dir}/[bold]genes.tsv"],
    ["explain", "regions", "--data", str(example_path("pairs.tsv")), "--subset", "all", "-r", "seed",
     "-o", "{dir}/[bold]regions.tsv"],
])
def test_paths_with_markup_print_as_written(command, odd_dir):
    args = [a.replace("{dir}", str(odd_dir)) for a in command]
    out = Path(args[-1])
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert out.is_file()
    assert squashed(str(out)) in squashed(r.output)


def test_help_is_wide_enough_when_not_on_a_terminal(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH", "LINES")}
    env["PYTHONPATH"] = str(REPO / "src")
    code = "import sys; from mirlens.cli.app import main; sys.argv = ['mirlens'] + sys.argv[1:]; main()"

    def help_lines(**extra) -> list[str]:
        out = subprocess.run([sys.executable, "-c", code, "predict-genes", "--help"], capture_output=True, text=True,
                             env={**env, **extra}, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        return out.stdout.splitlines()

    lines = help_lines()
    assert max(len(line) for line in lines) == HELP_WIDTH
    # an option's help on one line: at rich's default of 80 columns (or $COLUMNS=80, which wins) it is cut into
    # lines of a word or two
    option = "Output table (.tsv, .csv or .parquet)."
    assert any(option in line for line in lines)
    narrow = help_lines(COLUMNS="80")
    assert max(len(line) for line in narrow) == 80
    assert not any(option in line for line in narrow)


def test_command_help_keeps_no_line_breaks_inside_a_paragraph():
    # Typer's rich help would keep them and wrap each docstring line again in the commands table
    def infos(t):
        yield from t.registered_commands
        for group in t.registered_groups:
            yield from infos(group.typer_instance)

    helps = [info.help for info in infos(app)]
    assert len(helps) > 20 and all(helps)
    assert not [h for h in helps if any("\n" in paragraph for paragraph in h.split("\n\n"))]
    r = runner.invoke(app, ["explain", "--help"], env={"COLUMNS": "120"})
    assert r.exit_code == 0
    panel = [line.strip(" │").split() for line in r.output.splitlines() if line.startswith("│")]
    assert panel and min(len(words) for words in panel) > 1  # at 120 columns no line of the table is a lone word



def test_score_as_the_command_writes_everything_before_its_process_ends(tmp_path):
    # entry() (the console script) ends a successful `score` without Python's teardown: the table must be whole,
    # the message printed, and errors must keep their exit code
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    code = "import sys; from mirlens.cli import entry; sys.argv = ['mirlens'] + sys.argv[1:]; entry()"
    pairs = str(example_path("pairs.tsv"))
    runs = {}
    for name, entry_code in (("entry", code), ("main", code.replace("entry", "main"))):
        out = subprocess.run([sys.executable, "-c", entry_code, "score", pairs, "-o", str(tmp_path / f"{name}.tsv")],
                             capture_output=True, text=True, env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert "scored 4 pairs" in out.stderr
        runs[name] = (tmp_path / f"{name}.tsv").read_bytes()
    assert runs["entry"] == runs["main"] and runs["entry"].count(b"\n") == 5
    bad = subprocess.run([sys.executable, "-c", code, "score", str(tmp_path / "missing.tsv"), "-o", "x.tsv"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert bad.returncode == 1 and "error:" in bad.stderr and "Traceback" not in bad.stderr
