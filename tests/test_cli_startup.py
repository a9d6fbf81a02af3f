"""Start-up: a command line imports only its own command module; `score` never loads SciPy, matplotlib or Dask,
`examples` not even torch or pandas; the command -> module map covers every command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mirlens.cli.app import ALL_MODULES, COMMAND_MODULES, _register, app
from mirlens.data.examples import example_path

REPO = Path(__file__).resolve().parents[1]


def test_the_command_map_covers_every_command_and_its_module():
    _register()
    seen = {}
    for cmd in app.registered_commands:
        seen[cmd.name or cmd.callback.__name__] = {cmd.callback.__module__}
    for group in app.registered_groups:
        sub = group.typer_instance
        seen[group.name] = {c.callback.__module__ for c in sub.registered_commands}
    assert set(seen) == set(COMMAND_MODULES)
    for name, modules in seen.items():
        assert modules <= {f"mirlens.cli.{m}" for m in COMMAND_MODULES[name]}, name
    assert {m for mods in COMMAND_MODULES.values() for m in mods} == set(ALL_MODULES)


def loaded_after(args: list[str], tmp_path: Path) -> set[str]:
    code = (
        "import sys\n"
        f"sys.argv = ['mirlens'] + {args!r}\n"
        "from mirlens.cli.app import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print('LOADED', sorted({m.split('.')[0] for m in sys.modules}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    env.pop("MIRLENS_CLUSTER", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("LOADED"))
    return set(eval(line[len("LOADED "):]))


def test_commands_import_only_what_they_use(tmp_path):
    score = loaded_after(["score", str(example_path("pairs.tsv")), "-o", "s.parquet"], tmp_path)
    assert {"torch", "pandas"} <= score
    assert not score & {"scipy", "matplotlib", "dask", "distributed", "captum", "h5py", "logomaker", "RNA"}
    examples = loaded_after(["examples"], tmp_path)
    assert not examples & {"torch", "pandas", "scipy", "matplotlib"}
    names = loaded_after(["mirnas", "search", "miR-21", "--limit", "1"], tmp_path)  # the miRBase table alone
    assert not names & {"torch", "pandas", "numpy", "scipy", "matplotlib"}


def test_cli_defaults_repeat_the_library_defaults():
    import mirlens.model.store as store
    import mirlens.predict.scan as scan
    import mirlens.predict.score as score
    from mirlens.cli import predict

    assert predict.DEFAULT_MODEL == store.DEFAULT_MODEL
    assert predict.DEFAULT_BATCH == score.DEFAULT_BATCH
    assert predict.DEFAULT_STEP == scan.DEFAULT_STEP
