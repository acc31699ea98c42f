"""analysis.stats is the lowest layer: it imports numpy, scipy, lifelines, polars and the standard library only.

An AST walk over every module under analysis/stats (module-level and function-level imports,
relative imports resolved) fails on any import of a higher layer of the package or of a
package the statistics must not need.
"""

import ast
from pathlib import Path

import pytest

STATS = Path(__file__).resolve().parents[2] / "analysis" / "stats"
FORBIDDEN = (
    "analysis.review", "analysis.present", "analysis.schema", "analysis.data", "analysis.synthesis",
    "analysis.report", "analysis.charts", "pydantic", "yaml", "altair", "IPython",
)
ALLOWED_THIRD_PARTY = {"numpy", "scipy", "lifelines", "polars"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(STATS.parents[1]).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[str]:
    """Absolute names of every module imported anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    mod = _module_name(path)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            out.append(name)
            out += [f"{name}.{a.name}" for a in node.names]  # "from analysis import review"
    return out


FILES = sorted(STATS.rglob("*.py"))


def test_the_walk_sees_the_package():
    assert len(FILES) >= 15
    assert "analysis.stats.meta.effects" in imports(STATS / "meta" / "rma.py") or any(
        n.startswith("analysis.stats.meta.") for n in imports(STATS / "meta" / "rma.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(STATS)))
def test_no_import_from_a_higher_layer(path):
    bad = [n for n in imports(path) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]
    assert not bad, f"{path.relative_to(STATS.parents[1])} imports {bad}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(STATS)))
def test_only_the_allowed_libraries(path):
    import sys

    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for name in imports(path):
        top = name.split(".")[0]
        if top == "analysis":
            assert name.startswith("analysis.stats"), f"{path.name} imports {name}"
        else:
            assert top in stdlib or top in ALLOWED_THIRD_PARTY, f"{path.name} imports {name}"


def test_the_checker_catches_a_violation(tmp_path, monkeypatch):
    """A test that cannot fail is a defect: a planted bad import is found."""
    p = tmp_path / "x.py"
    p.write_text("def f():\n    from ...review import curves\n    import yaml\n")
    # resolve the relative import as if the file lived in analysis/stats/meta
    monkeypatch.setattr("test_layering._module_name", lambda path: "analysis.stats.meta.x")
    names = imports(p)
    assert "analysis.review" in names and "yaml" in names
