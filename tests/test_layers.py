"""The import graph: no circles, and no import that climbs a layer (the layers of mirlens/__init__.py's docstring).

Every ``import`` / ``from ... import`` of every module under src/mirlens counts, also those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mirlens

SRC = Path(mirlens.__file__).resolve().parent


def layers() -> list[set[str]]:
    """The table of mirlens/__init__.py's docstring: one row per layer, bottom first, packages before two spaces."""
    doc = mirlens.__doc__
    block = doc[doc.index("Layers, bottom to top"):].split("::", 1)[1]
    rows = [line.strip() for line in block.splitlines() if line.strip()]
    return [{name.strip() for name in row.split("  ", 1)[0].split(",")} for row in rows]


def modules() -> dict[str, Path]:
    """``mirlens.x.y`` -> file, for every module and package of the source tree."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = ["mirlens", *path.relative_to(SRC).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the mirlens modules it imports (``from a import b``: the module ``a.b`` where there is one)."""

    def known(name: str) -> str:
        while name not in mods:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {known(a.name) for a in node.names if a.name.split(".")[0] == "mirlens"}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                if base.split(".")[0] == "mirlens":
                    targets |= {known(f"{base}.{a.name}") for a in node.names}
        targets.discard(name)
        graph[name] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def top(module: str) -> str:
    """The top-level package of a module (``mirlens`` for the root and for ``mirlens.errors``-like modules)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "mirlens"


def upward_imports(graph: dict[str, set[str]], rows: list[set[str]]) -> list[str]:
    rank = {pkg: i for i, row in enumerate(rows) for pkg in row}
    bad = []
    for source, targets in graph.items():
        for target in targets:
            a, b = top(source), top(target)
            if a != b and rank[b] >= rank[a]:
                bad.append(f"{source} -> {target} ({a!r} is on layer {rank[a]}, {b!r} on layer {rank[b]})")
    return sorted(bad)


def test_every_top_level_package_has_a_layer():
    rows = layers()
    placed = [pkg for row in rows for pkg in row]
    assert len(placed) == len(set(placed)), "a package is on two layers"
    present = {top(m) for m in modules()}
    assert present <= set(placed), f"put {sorted(present - set(placed))} on a layer in mirlens/__init__.py"
    assert set(placed) <= present, f"no such package: {sorted(set(placed) - present)}"


def test_no_import_circles():
    assert circles(import_graph(modules())) == []


def test_no_import_climbs_a_layer():
    assert upward_imports(import_graph(modules()), layers()) == []


def test_the_checks_catch_a_circle_and_an_upward_import(tmp_path):
    graph = {"mirlens.predict.scan": {"mirlens.genes.sites"}, "mirlens.genes.sites": {"mirlens.predict.scan"},
             "mirlens.report.html": {"mirlens.reproduce.paper"}, "mirlens.reproduce.paper": set()}
    assert circles(graph) == [["mirlens.genes.sites", "mirlens.predict.scan"]]
    bad = upward_imports(graph, layers())
    assert [b.split(" (")[0] for b in bad] == ["mirlens.predict.scan -> mirlens.genes.sites",
                                               "mirlens.report.html -> mirlens.reproduce.paper"]
    # imports inside functions and relative imports count
    pkg = tmp_path / "mirlens"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("")
    (pkg / "a" / "x.py").write_text("def f():\n    from mirlens.b import y\n")
    (pkg / "a" / "z.py").write_text("from . import x\nfrom .x import f\n")
    (pkg / "b.py").write_text("import mirlens.a.x\n")
    mods = {"mirlens": pkg / "__init__.py", "mirlens.a": pkg / "a" / "__init__.py", "mirlens.a.x": pkg / "a" / "x.py",
            "mirlens.a.z": pkg / "a" / "z.py", "mirlens.b": pkg / "b.py"}
    graph = import_graph(mods)
    assert graph["mirlens.a.z"] == {"mirlens.a.x"}
    assert circles(graph) == [["mirlens.a.x", "mirlens.b"]]


def test_moved_modules_keep_the_paths_the_readme_names():
    import mirlens.data.seeds as seeds
    import mirlens.explain.attribution.attribute as attribute
    import mirlens.explain.attribution.deeplift as deeplift
    import mirlens.genes.sites as sites
    from mirlens.explain import PairSet
    from mirlens.explain.attribute import integrated_gradients
    from mirlens.explain.deeplift import deeplift_shap
    from mirlens.explain.pairset import PairSet as pair_set

    assert integrated_gradients is attribute.integrated_gradients and deeplift_shap is deeplift.deeplift_shap
    assert PairSet is pair_set
    assert sites.find_sites_tokens is seeds.find_sites_tokens and sites.SITE_TYPES is seeds.SITE_TYPES
