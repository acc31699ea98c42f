"""The warm executor (analysis/build.py, analysis/kernels.py) writes what a fresh kernel writes.

A warm kernel runs many notebooks: each must come out byte for byte as from a fresh kernel per
notebook (``analysis.__main__.execute_notebook``, the reference), whatever ran before it in the
kernel -- execution counts, charts' clip-path ids, warnings and the user namespace included.
(``make test`` also runs nbval over every notebook, each in a fresh kernel, against the outputs
the warm executor stored.)
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from analysis import build, kernels
from analysis.__main__ import execute_notebook
from analysis.kernels import WarmKernel
from analysis.review.loading import load
from factory import ROOT

#: a chapter with charts (clip-path ids, vl-convert), the smallest page, and a synthesis table page
NOTEBOOKS = ("studies/roddie2025.ipynb", "whats_new.ipynb", "synthesis/characteristics.ipynb")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> dict[str, str]:
    """Each notebook executed in its own fresh kernel: the reference bytes."""
    out = {}
    for name in NOTEBOOKS:
        path = tmp_path_factory.mktemp("fresh") / Path(name).name
        shutil.copy(ROOT / "book" / name, path)
        execute_notebook(path)
        out[name] = path.read_text(encoding="utf-8")
    return out


def warm_run(order: list[str]) -> list[str]:
    """Execute the notebooks in ``order`` one after the other in one warm kernel; their texts."""
    async def run() -> list[str]:
        kernel = WarmKernel()
        await kernel.start()
        try:
            texts = []
            for name in order:
                outcome = await kernel.execute(ROOT / "book" / name)
                assert outcome.error is None, outcome.error
                texts.append(build.text_of(outcome.nb))
            return texts
        finally:
            await kernel.stop()
    return asyncio.run(run())


def test_a_warm_kernel_writes_the_bytes_of_a_fresh_kernel(fresh):
    # the chart chapter runs twice, after other notebooks: its clip ids and counts must restart
    order = [NOTEBOOKS[0], NOTEBOOKS[1], NOTEBOOKS[2], NOTEBOOKS[0]]
    texts = warm_run(order)
    for name, text in zip(order, texts):
        assert text == fresh[name], f"{name} differs from a fresh kernel's output"


def test_executing_twice_writes_the_same_bytes(fresh, tmp_path):
    """``python -m analysis execute`` is deterministic: executing its own output again changes no byte."""
    nb = tmp_path / "whats_new.ipynb"
    nb.write_text(fresh["whats_new.ipynb"], encoding="utf-8")
    execute_notebook(nb)
    assert nb.read_text(encoding="utf-8") == fresh["whats_new.ipynb"]
    stored = json.loads(fresh["whats_new.ipynb"])
    assert all("execution" not in c["metadata"] for c in stored["cells"])  # no timestamps
    assert "version" not in stored["metadata"].get("language_info", {})  # no interpreter version
    assert any(c.get("outputs") for c in stored["cells"])  # it did execute


def test_the_fresh_reference_stores_execution_counts_from_one(fresh):
    nb = nbformat.reads(fresh[NOTEBOOKS[0]], as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))


def test_the_kernel_is_reset_between_notebooks(tmp_path):
    first = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import warnings\nleft_behind = 1\nwarnings.warn('shown once per fresh kernel')")])
    second = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, warnings\nprint('left_behind' in dir(), os.getcwd())\nwarnings.warn('shown once per fresh kernel')"),
        nbformat.v4.new_code_cell("1 + 1")])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    nbformat.write(first, tmp_path / "a" / "first.ipynb")
    nbformat.write(second, tmp_path / "b" / "second.ipynb")

    async def run():
        kernel = WarmKernel(preload=False)  # the reset, not the preloaded stack, is under test here
        await kernel.start()
        try:
            return [await kernel.execute(tmp_path / d / f"{n}.ipynb") for d, n in (("a", "first"), ("b", "second"))]
        finally:
            await kernel.stop()

    _, second_run = asyncio.run(run())
    cells = second_run.nb.cells
    text = "".join(o.get("text", "") for o in cells[0].outputs)
    assert f"False {tmp_path / 'b'}" in text  # namespace cleared, working directory the notebook's
    assert any(o.get("name") == "stderr" and "shown once" in o["text"] for o in cells[0].outputs)  # warned again
    assert [c.execution_count for c in cells] == [1, 2]
    assert cells[1].outputs[0]["execution_count"] == 2


def test_a_failing_notebook_is_reported_not_written_and_not_cached(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    good = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('fine')")])
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise ValueError('broken page')")])
    nbformat.write(good, book / "good.ipynb")
    nbformat.write(bad, book / "bad.ipynb")
    before = (book / "bad.ipynb").read_bytes()
    cache = tmp_path / "cache.json"
    review = load(ROOT / "tests" / "fixtures" / "review")
    with build.Pool(1, preload=False) as pool:  # one kernel for both runs (restarted after the failure)
        result = build.execute_book(review, book, cache_file=cache, log=lambda line: None, pool=pool)
        again = build.execute_book(review, book, cache_file=cache, log=lambda line: None, pool=pool)
    assert not result.ok and [o.path.name for o in result.failed] == ["bad.ipynb"]
    assert "broken page" in result.failed[0].error
    assert (book / "bad.ipynb").read_bytes() == before
    assert [o.path.name for o in result.executed] == ["good.ipynb"]
    assert [o.path.name for o in again.failed] == ["bad.ipynb"] and [p.name for p in again.current] == ["good.ipynb"]


def test_a_kernel_that_dies_before_it_is_ready_is_started_again(monkeypatch):
    """Another process can take a port between jupyter_client picking it and the kernel binding it:
    the kernel then dies at start.  The executor starts it again instead of failing the build."""
    launches = []
    launch = WarmKernel.launch

    async def dying_first(self):
        await launch(self)
        launches.append(self.km)
        if len(launches) == 1:
            await self.km.signal_kernel(signal.SIGKILL)  # a kernel that cannot bind its port dies

    monkeypatch.setattr(WarmKernel, "launch", dying_first)

    async def run() -> str:
        kernel = WarmKernel(preload=False)
        try:
            await kernel.start()
            return await kernel.run_code("print(6 * 7)")
        finally:
            await kernel.stop()

    assert asyncio.run(run()).strip() == "42"
    assert len(launches) == 2


def test_a_kernel_that_does_not_answer_is_started_again(monkeypatch):
    """A kernel alive but silent (stopped here; in the wild, one of its ports taken by another
    process) is replaced after START_TIMEOUT instead of holding the build for 300 s."""
    monkeypatch.setattr(kernels, "START_TIMEOUT", 3)

    async def run() -> tuple[float, int, int, str]:
        kernel = WarmKernel(preload=False)
        await kernel.launch()
        first = kernel.km.provisioner.process.pid
        os.kill(first, signal.SIGSTOP)
        t0 = time.monotonic()
        try:
            await kernel.start()
            took = time.monotonic() - t0
            return took, first, kernel.km.provisioner.process.pid, await kernel.run_code("print(6 * 7)")
        finally:
            try:
                os.kill(first, signal.SIGCONT)
            except ProcessLookupError:
                pass
            await kernel.stop()

    took, first, second, printed = asyncio.run(run())
    assert second != first and printed == "42\n"
    assert 3 <= took < 60
