"""tools/build_site.py keeps _build/html only when nothing the site is made from changed."""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from factory import module_from_file

ROOT = Path(__file__).resolve().parents[2]


def _tool():
    return module_from_file(ROOT / "tools" / "build_site.py", "build_site_tool")


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A small repository: a page, a data file, the footer extension; seeds in their own folder."""
    root = tmp_path / "repo"
    (root / "book" / "_ext").mkdir(parents=True)
    shutil.copy(ROOT / "book" / "_ext" / "review_version.py", root / "book" / "_ext")
    (root / "book" / "intro.md").write_text("# Intro\n", encoding="utf-8")
    (root / "data").mkdir()
    (root / "data" / "study.yaml").write_text("id: a\n", encoding="utf-8")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("source text\n", encoding="utf-8")
    monkeypatch.setattr("analysis.review.seeds.SEEDS", seeds)
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    return root, seeds


def test_the_site_key_follows_pages_data_seeds_and_the_footer_commit(repo, monkeypatch):
    tool = _tool()
    root, seeds = repo
    k0 = tool.site_key(root)
    assert tool.site_key(root) == k0
    for ignored in ("_build/html/index.html", "tests/test_x.py", "benchmarks/b.py", "book/__pycache__/x.pyc",
                    "book/.ipynb_checkpoints/intro-checkpoint.md"):
        (root / ignored).parent.mkdir(parents=True, exist_ok=True)
        (root / ignored).write_text("x", encoding="utf-8")
    assert tool.site_key(root) == k0
    seen = {k0}
    for changed in (root / "book" / "intro.md", root / "data" / "study.yaml", seeds / "a.txt"):
        changed.write_text(changed.read_text(encoding="utf-8") + "more\n", encoding="utf-8")
        seen.add(tool.site_key(root))
    (root / "_static").mkdir()
    (root / "_static" / "new.css").write_text("", encoding="utf-8")  # a new file counts, even empty
    seen.add(tool.site_key(root))
    (root / "data" / "tests").mkdir()
    (root / "data" / "tests" / "x.yaml").write_text("", encoding="utf-8")  # "tests" is skipped only at the top
    seen.add(tool.site_key(root))
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef")  # the commit every footer names
    seen.add(tool.site_key(root))
    monkeypatch.setenv("REVIEW_FIT_STORE", "/elsewhere")  # where fits are kept changes no page
    seen.add(tool.site_key(root))
    assert len(seen) == 7


def test_an_unchanged_site_is_kept_a_changed_one_built_a_failed_one_removed(tmp_path, monkeypatch):
    tool = _tool()
    build = tmp_path / "_build"
    for name, value in (("ROOT", tmp_path), ("BUILD", build), ("HTML", build / "html"), ("DOCTREES", build / ".doctrees"),
                        ("KEY_FILE", build / ".doctrees" / "key"), ("SITE_KEY_FILE", build / ".html-key")):
        monkeypatch.setattr(tool, name, value)
    monkeypatch.setattr("analysis.notebooks.use_fit_store", lambda *a, **k: None)
    monkeypatch.setattr(tool, "extension", lambda name: SimpleNamespace(CACHE="c", start=lambda cache: None, stop=lambda: None))
    monkeypatch.setattr(tool, "doctree_key", lambda: "doctrees")
    site = {"key": "state 1"}
    monkeypatch.setattr(tool, "site_key", lambda: site["key"])
    runs, status = [], {"code": 0}

    def sphinx(out: Path, doctrees: Path, fresh: bool, carry_from: Path | None = None) -> int:
        runs.append(fresh)
        out.mkdir(parents=True)
        doctrees.mkdir(parents=True, exist_ok=True)
        (out / "index.html").write_text(site["key"], encoding="utf-8")
        return status["code"]

    monkeypatch.setattr(tool, "sphinx", sphinx)
    assert tool.build() == 0 and len(runs) == 1
    assert tool.build() == 0 and len(runs) == 1  # nothing changed: kept
    assert (build / "html" / "index.html").read_text(encoding="utf-8") == "state 1"
    assert tool.build(fresh=True) == 0 and len(runs) == 2  # --fresh always builds
    site["key"] = "state 2"
    assert tool.build() == 0 and len(runs) == 3
    assert (build / "html" / "index.html").read_text(encoding="utf-8") == "state 2"
    status["code"] = 1
    site["key"] = "state 3"
    assert tool.build() == 1 and not (build / "html").exists()
    status["code"] = 0
    assert tool.build() == 0 and len(runs) == 5  # the failure left nothing to keep


def test_the_render_never_executes_and_myst_nb_executors_refuse_to():
    """The stand-ins for myst-nb's executors (build_site.without_notebook_execution) hold only
    because Jupyter Book is told never to execute; the executors' classes refuse to run, and
    myst-nb's Sphinx extension loads without jupyter-cache and SQLAlchemy."""
    import subprocess
    import sys

    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["execute_notebooks"] == "off"
    code = """if True:
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("build_site_tool", sys.argv[1])
        tool = importlib.util.module_from_spec(spec); spec.loader.exec_module(tool)
        tool.without_notebook_execution()
        import myst_nb.sphinx_ext, myst_nb.core.execute as execute
        assert "sqlalchemy" not in sys.modules and "jupyter_cache" not in sys.modules
        for _module, cls in tool.EXECUTORS:
            try:
                getattr(execute, cls)()
            except RuntimeError as exc:
                assert "never executes a notebook" in str(exc), exc
            else:
                raise AssertionError(cls + " ran")
        print("refused")
    """
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "tools" / "build_site.py")], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "refused", out.stderr[-2000:]


def test_the_collector_collects_when_the_process_grew_and_only_then(monkeypatch):
    """tools/build_site.py runs a full garbage collection whenever the resident size grew by
    GC_GROWTH_BYTES (its thresholds otherwise let a 1000-page render keep 1 GB of garbage)."""
    tool = _tool()
    runs = []
    monkeypatch.setattr(tool.gc, "collect", lambda *a: runs.append(1) or 0)
    sizes = iter([100, 150, 150, 400, 420, 420, 700])
    with tool.Collector(growth=200, every=0.001, rss=lambda: next(sizes, 700)) as grows:
        deadline = time.monotonic() + 10
        while len(runs) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.05)  # and no more while the size stays
    # 100 -> 400 (+300): a collection, measured again at 420; 420 -> 700 (+280): the second
    assert grows.collections == len(runs) == 2
    with tool.Collector(growth=200, every=0.001, rss=lambda: 100) as steady:
        time.sleep(0.05)
    with tool.Collector(rss=lambda: None) as unreadable:  # no /proc: does nothing
        pass
    assert steady.collections == unreadable.collections == 0 and len(runs) == 2
    assert tool.resident_bytes() is None or tool.resident_bytes() > 0


def test_execute_renders_only_after_the_execution_succeeded(monkeypatch):
    """``--execute`` (make book): the executor runs in a child process, the render's modules are
    imported meanwhile, and the build starts only once the child has exited with 0; a failed
    execution renders nothing and its exit status is the command's."""
    tool = _tool()
    events = []

    class Executor:
        def __init__(self, cmd, cwd):
            events.append(("start", cmd[1:4], cwd))

        def wait(self):
            events.append("wait")
            return status["code"]

    status = {"code": 0}
    monkeypatch.setattr(tool.subprocess, "Popen", Executor)
    monkeypatch.setattr(tool, "preload", lambda: events.append("preload") or [])
    monkeypatch.setattr(tool, "build", lambda fresh=False: events.append(("build", fresh)) or 0)
    assert tool.main(["--execute"]) == 0
    assert events == [("start", ["-m", "analysis", "execute"], tool.ROOT), "preload", "wait", ("build", False)]
    events.clear()
    status["code"] = 3
    assert tool.main(["--execute", "--fresh"]) == 3
    assert events == [("start", ["-m", "analysis", "execute"], tool.ROOT), "preload", "wait"]  # nothing rendered
    status["code"] = -9  # killed
    assert tool.main(["--execute"]) == 1
    events.clear()
    status["code"] = 0
    monkeypatch.setattr(tool, "preload", lambda: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        tool.main(["--execute"])
    assert events[-1] == "wait"  # the child is waited for even when the import is interrupted


def test_preload_imports_the_configured_extensions_and_no_numerics(tmp_path):
    """What ``--execute`` imports while the notebooks run: Sphinx's built-in extensions, Jupyter
    Book, every extension _config.yml names (local ones from their folder); no numpy, scipy or
    polars (the render needs none), no notebook executor; a missing one is named, not raised
    (Sphinx reports it in the build)."""
    import subprocess
    import sys

    config = tmp_path / "_config.yml"
    config.write_text((ROOT / "_config.yml").read_text(encoding="utf-8").replace(
        "extensions: [myst_nb,", "extensions: [no_such_extension_xyz, myst_nb,"), encoding="utf-8")
    code = """if True:
        import importlib.util, sys
        from pathlib import Path
        spec = importlib.util.spec_from_file_location("build_site_tool", sys.argv[1])
        tool = importlib.util.module_from_spec(spec); spec.loader.exec_module(tool)
        failed = tool.preload(Path(sys.argv[2]))
        import sphinx.application, yaml
        sphinx_config = yaml.safe_load(open(sys.argv[2]))["sphinx"]
        wanted = [*sphinx.application.builtin_extensions, "jupyter_book.sphinx", *sphinx_config["config"]["extensions"],
                  *sphinx_config["local_extensions"]]
        print(failed, [m for m in wanted if m not in sys.modules and m not in failed],
              sorted(m for m in ("numpy", "scipy", "polars", "jupyter_cache", "sqlalchemy") if m in sys.modules))
    """
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "tools" / "build_site.py"), str(config)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[0] == "['no_such_extension_xyz'] [] []"
