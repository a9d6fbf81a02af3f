"""The commands in README.md and docs/*.md: every `mirlens` command names a real command and only options it has;
the cheap ones of the README's quick start and tour run as written."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from mirlens.cli.app import _register, app

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RUN = [  # run as written, in this order, in one folder (each appears verbatim in the README)
    "mirlens examples ex",
    "mirlens predict --mirna hsa-let-7a-5p --targets ex/utrs.fa -o let7.tsv",
    "mirlens mirnas search miR-21",
    "mirlens predict-genes --mirna ex/mirnas.fa --targets ex/utrs.fa -o genes.tsv --sort rank --html genes.html",
    "mirlens report genes genes.tsv -o genes.html",
    "mirlens score ex/pairs.tsv -o scores.tsv",
    "mirlens models list",
]


def commands(page: Path) -> list[tuple[int, str]]:
    """(line, command) of every `mirlens ...` line in the page's bash blocks (continuations joined)."""
    out, fence, pending, start = [], False, "", 0
    for i, line in enumerate(page.read_text().splitlines(), start=1):
        if line.startswith("```"):
            fence = line.strip() in ("```bash", "```sh", "```console") if not fence else False
            continue
        if not fence:
            continue
        text = line.strip()
        if pending:
            pending += " " + text.rstrip("\\").strip()
            if not text.endswith("\\"):
                out.append((start, pending))
                pending = ""
            continue
        if text.startswith("mirlens ") or text == "mirlens":
            if text.endswith("\\"):
                pending, start = text.rstrip("\\").strip(), i
            else:
                out.append((i, text))
    return out


def resolve(tokens: list[str]):
    _register()
    cmd = typer.main.get_command(app)
    rest = tokens[1:]
    # typer may carry its own copy of click: groups are told by their commands, not by class
    while getattr(cmd, "commands", None) is not None and rest and not rest[0].startswith("-"):
        sub = cmd.commands.get(rest[0])
        if sub is None:
            raise AssertionError(f"no command {rest[0]!r}")
        cmd, rest = sub, rest[1:]
    return cmd, rest


def option_names(cmd) -> set[str]:
    names = {"--help"}
    for p in cmd.params:
        names.update(p.opts)
        names.update(p.secondary_opts)
    return names


ALL = [(page.relative_to(REPO).as_posix(), line, text) for page in PAGES for line, text in commands(page)]


def test_the_pages_hold_commands():
    assert len(ALL) > 60 and any(p == "README.md" for p, _, _ in ALL)
    assert {Path(p).name for p, _, _ in ALL} >= {"README.md", "gene-level.md", "cluster.md", "reproduce.md"}


@pytest.mark.parametrize("page,line,text", ALL, ids=[f"{p}:{n}" for p, n, _ in ALL])
def test_every_documented_command_and_option_exists(page, line, text):
    tokens = shlex.split(text, comments=True)
    cmd, rest = resolve(tokens)
    known = option_names(cmd)
    for tok in rest:
        if tok.startswith("--") or re.fullmatch(r"-[a-zA-Z]", tok):
            name = tok.split("=", 1)[0]
            assert name in known, f"{page}:{line}: `{' '.join(tokens[:3])}` has no option {name}"


def test_the_readme_quick_start_runs_as_written(tmp_path):
    readme = (REPO / "README.md").read_text()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("MIRLENS_CLUSTER", None)
    exe = Path(sys.executable).parent / "mirlens"
    for line in RUN:
        assert line in readme, f"not in the README: {line}"
        args = shlex.split(line)
        result = subprocess.run([str(exe), *args[1:]], cwd=tmp_path, capture_output=True, text=True, env=env,
                                timeout=600)
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
    genes = (tmp_path / "genes.tsv").read_text().splitlines()
    assert len(genes) == 26 and (tmp_path / "genes.html").stat().st_size > 10_000
    found = subprocess.run([str(exe), "mirnas", "search", "miR-21"], cwd=tmp_path, capture_output=True, text=True,
                           env=env)
    assert "hsa-miR-21-5p" in found.stdout + found.stderr  # the table goes to the console (stderr)
