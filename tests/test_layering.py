"""The package's layers import one way: stats <- review <- present <- the command line and chapters.

An AST walk over every module of ``analysis/`` (imports inside functions included) fails on
an import from a lower layer to a higher one, on a third-party import a layer must not make,
and on any import cycle between modules.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "analysis"

#: layer of a module, by its dotted name's prefix (longest prefix wins)
LAYERS = {
    "analysis._startup": 0,  # standard library only: how every layer imports jsonschema's dependents
    "analysis.stats": 0,
    "analysis.review": 1,
    "analysis.present": 2,
    "analysis.chapters": 3,
    "analysis.__main__": 3,
    "analysis": 3,
}
NAMES = {0: "stats", 1: "review", 2: "present", 3: "application"}
#: third-party packages a layer must not import (the statistics know nothing of files, models or pages)
FORBIDDEN = {
    0: {"pydantic", "yaml", "altair", "IPython", "nbformat", "nbclient"},
    1: {"altair", "IPython", "nbformat", "nbclient"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(name: str) -> int:
    best = max((p for p in LAYERS if name == p or name.startswith(p + ".")), key=len)
    return LAYERS[best]


def imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # "from pkg import x" may import the submodule pkg.x; internal() resolves names to modules
            out += [(f"{mod}.{a.name}", node.lineno) for a in node.names]
    return out


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def internal(target: str) -> str | None:
    """The module of this package that an import names (longest existing prefix), if any."""
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        cand = ".".join(parts[:i])
        if cand in MODULES:
            return cand
    return None


#: known violations (strict xfail: the list must shrink, never grow)
KNOWN: dict[str, str] = {}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN[n]))
                                  if n in KNOWN else n for n in sorted(MODULES)])
def test_no_import_from_a_lower_layer_to_a_higher_one(name):
    here = layer(name)
    bad = []
    for target, line in imports(MODULES[name]):
        top = target.split(".")[0]
        if top in FORBIDDEN.get(here, set()):
            bad.append(f"line {line}: the {NAMES[here]} layer imports {target}")
        mod = internal(target) if top == "analysis" else None
        if mod and mod != "analysis" and layer(mod) > here:
            bad.append(f"line {line}: {NAMES[here]} imports {mod} ({NAMES[layer(mod)]})")
    assert bad == [], f"{name}: " + "; ".join(bad)


def test_no_import_cycles():
    graph = {name: {m for t, _ in imports(path) if t.startswith("analysis")
                    for m in [internal(t)] if m and m != name and m != "analysis"}
             for name, path in MODULES.items()}
    # a package's __init__ importing its own submodules is not a cycle with them
    for name in graph:
        graph[name] = {m for m in graph[name] if not m.startswith(name + ".")}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_walk_sees_function_level_imports(tmp_path):
    """The test can fail: an import hidden inside a function is found."""
    path = PACKAGE / "review" / "_probe_for_layer_test.py"
    path.write_text("def f():\n    from ..present import tables\n", encoding="utf-8")
    try:
        found = [t for t, _ in imports(path)]
        assert "analysis.present.tables" in found
        assert layer(internal("analysis.present.tables")) > layer("analysis.review._probe_for_layer_test")
    finally:
        path.unlink()


def imports_on_the_fixture(code: str, modules: tuple[str, ...]) -> str:
    """Standard output of ``code`` run in a fresh interpreter (``sys`` imported, ``sys.argv[1]``
    the fixture review), ending with the line listing which of ``modules`` it imported."""
    import subprocess
    import sys

    fixture = Path(__file__).resolve().parent / "fixtures" / "review"
    code = f"import sys; {code}; print(sorted(m for m in {modules!r} if m in sys.modules))"
    return subprocess.run([sys.executable, "-c", code, str(fixture)], capture_output=True, text=True,
                          cwd=PACKAGE.parent, check=True).stdout


def test_what_the_render_reads_of_the_data_imports_no_numerics():
    """The site build loads and validates the study files (to write the bibliography and the
    footer) and reads the fit-store and seeds locations: none of it imports numpy, scipy or
    polars.  The checks of printed percentages are integer arithmetic (``analysis.stats.grim``),
    the tables of a review are built on first use, and the locations live in standard-library
    modules (``analysis.review.seeds``, ``analysis.review.fit_store``).  Each import would add
    0.05-0.2 s to every render."""
    out = imports_on_the_fixture(
        "import analysis.notebooks; from analysis.review import bibliography, seeds, fit_store; "
        "from analysis.review.loading import load, changelog; r = load(sys.argv[1]); assert r.studies; "
        "changelog(sys.argv[1]); bibliography.bibtex(r.studies)", ("numpy", "scipy", "polars"))
    assert out.strip() == "[]"


def test_the_citation_what_changed_and_methods_import_no_statistics():
    """The living-review state (releases, changelog, citation) and the pages built on it and on
    the plan alone (cite, what's new, methods) import neither scipy.stats nor the models:
    ``export.tables`` imports the synthesis when it is called, and the models' names live in
    the plan.  Importing them cost each of those kernels 0.8 s."""
    out = imports_on_the_fixture(
        "from analysis.review.living import state; from analysis.present import about, methods; "
        "st = state(sys.argv[1]); about.cite_box(st); about.whats_new(st)",
        ("scipy.stats", "analysis.stats.meta", "analysis.review.synthesis"))
    assert out.strip().splitlines()[-1] == "[]"  # after what the pages display
