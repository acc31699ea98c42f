"""Warm kernels: one IPython kernel executes many notebooks, each as if in a fresh kernel.

Starting a kernel takes about 0.7 s and importing the stack and loading the data another
2-4 s per notebook; a :class:`WarmKernel` pays both once, as it starts (:meth:`WarmKernel.launch`
starts the process, which imports and loads while the executor validates the data).  Before each notebook it runs
:func:`analysis.kernel_state.reset` (user namespace, history, execution count, warning filters
and registries back to the fresh kernel's, working directory the notebook's folder), then
executes the notebook with nbclient exactly as :func:`analysis.__main__.execute_notebook`
does in a fresh kernel.  The stored outputs are the same bytes: ``tests/test_build.py``
executes notebooks both ways, in several orders, and compares them.

The kernel is restarted after an error that killed it, and after :data:`MAX_NOTEBOOKS`
notebooks (a bound on anything a notebook might leave behind in memory).
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path

from ._startup import import_without_iri_grammar

# nbformat imports jsonschema, which would compile a grammar for IRI format checks that nbformat
# never makes (0.9 s; analysis/_startup.py)
nbformat = import_without_iri_grammar("nbformat")
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError, DeadKernelError  # noqa: E402

#: notebooks one kernel executes before it is replaced by a fresh one
MAX_NOTEBOOKS = 400
#: seconds a cell may run (as the book's execution settings always allowed)
CELL_TIMEOUT = 600
#: seconds a starting kernel may take to answer (it imports the stack first: 2-3 s here); one that
#: does not is started again.  A kernel that is alive but never answers (one of its ports taken by
#: another process) used to cost the full 300 s: once, of some twenty executions on the 2-core VM,
#: executing 16 notebooks took 307 s instead of 7 (not reproduced in 15 runs since)
START_TIMEOUT = 60
_SNAPSHOT = '__import__("analysis.kernel_state").kernel_state.snapshot()'
_WARM = '__import__("analysis.kernel_state").kernel_state.warm()'
_RESET = '__import__("analysis.kernel_state").kernel_state.reset({cwd})'


class KernelCodeError(RuntimeError):
    """Code the executor itself ran in the kernel failed (not a notebook cell)."""


@dataclass
class Outcome:
    """What became of one notebook: the executed notebook (None if it failed) and the error text."""

    path: Path
    nb: nbformat.NotebookNode | None
    seconds: float
    error: str | None = None
    report: str = ""


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Store only what the code produces: no timestamps, no interpreter version, a pinned kernel name."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata.get("language_info", {}).pop("version", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


class WarmKernel:
    """One kernel executing notebooks one after the other (see the module docstring)."""

    def __init__(self, name: str = "python3", cwd: Path | None = None, preload: bool = True):
        self.name, self.cwd, self.preload = name, cwd, preload
        self.km = self.kc = None
        self.runs = 0

    async def launch(self) -> None:
        """Start the kernel process, which imports the stack and loads the data as it starts
        (:func:`analysis.kernel_state.warm`; not with ``preload=False``, which tests of the
        executor's bookkeeping use on notebooks that import nothing); returns at once."""
        client = NotebookClient(nbformat.v4.new_notebook(), kernel_name=self.name)
        self.km = client.create_kernel_manager()
        await self.km.start_kernel(cwd=str(self.cwd or Path.cwd()),
                                   extra_arguments=[f"--IPKernelApp.exec_lines={_WARM}"] if self.preload else [])
        self.kc = None

    async def start(self, attempts: int = 3) -> None:
        """Start the kernel (unless :meth:`launch` did), wait until it is ready, record its fresh state.

        A kernel that dies, or does not answer within :data:`START_TIMEOUT`, before it is ready is
        started again, up to ``attempts`` times in all: jupyter_client picks free TCP ports and the
        kernel binds them later, so another process can take one in between ("Address already in
        use"; jupyter/jupyter_client#154).
        """
        for attempt in range(1, attempts + 1):
            if self.km is None or not self.km.has_kernel:
                await self.launch()
            self.kc = self.km.client()
            self.kc.start_channels()
            try:
                await self.kc.wait_for_ready(timeout=START_TIMEOUT)
                break
            except RuntimeError:  # "Kernel died before replying to kernel_info", or no answer in time
                await self.stop()
                if attempt == attempts:
                    raise
        await self.run_code(_SNAPSHOT)
        self.runs = 0

    async def stop(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None and self.km.has_kernel:
            await self.km.shutdown_kernel(now=True)
        self.km = self.kc = None

    async def run_code(self, code: str) -> str:
        """Run code in the kernel without history or execution count; its printed text, or raise."""
        out: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))

        reply = await self.kc.execute_interactive(code, store_history=False, output_hook=hook, timeout=CELL_TIMEOUT)
        if reply["content"]["status"] != "ok":
            raise KernelCodeError("".join(out) or str(reply["content"]))
        return "".join(out)

    async def execute(self, path: Path, before: str | None = None, after: str | None = None) -> Outcome:
        """Execute the notebook at ``path`` (not written back); ``before``/``after``: code run silently
        around it in the same kernel (benchmarks put timers there; ``after``'s printed text is the
        outcome's ``report``)."""
        if self.kc is None and self.km is not None and await self.km.is_alive():
            await self.start()  # launched, not yet connected
        elif self.km is None or self.runs >= MAX_NOTEBOOKS or not await self.km.is_alive():
            await self.stop()
            await self.start()
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        try:
            await self.run_code(_RESET.format(cwd=json.dumps(str(path.parent.resolve()))))
            if before:
                await self.run_code(before)
            client = NotebookClient(nb, km=self.km, timeout=CELL_TIMEOUT, kernel_name=self.name,
                                    record_timing=False, allow_errors=False)
            client.kc = self.kc
            await client.async_execute()
            report = await self.run_code(after) if after else ""
        except (CellExecutionError, DeadKernelError, KernelCodeError, asyncio.TimeoutError, RuntimeError) as exc:
            self.runs = MAX_NOTEBOOKS  # start from a fresh kernel after any failure
            return Outcome(path, None, time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}")
        finally:
            self.runs += 1
        return Outcome(path, normalise(nb), time.perf_counter() - t0, report=report)
