"""Runs inside a warm kernel of :mod:`analysis.kernels`: puts the kernel back to how it started.

:func:`snapshot` (once, right after the kernel started) records the user namespace and the
warning filters of a fresh kernel; :func:`reset` (before every notebook) restores them, so that
a notebook meets the state a fresh kernel would give it, except that the modules it imports
are already imported (and their caches, e.g. the content-hash cache of
:func:`analysis.review.loading.load`, are warm):

* the user namespace is cleared back to the fresh kernel's names (IPython's ``reset``: also
  the input and output history, ``_``, ``_1``, ...);
* the execution count restarts at 1, so stored execution counts equal a fresh kernel's;
* the warning filters are restored and every module's ``__warningregistry__`` forgotten, so a
  warning shown by an earlier notebook is shown again (a fresh kernel would show it);
* the working directory is the notebook's folder;
* the charts' clip-path ids start at 1 again
  (:func:`analysis.present.charts.render.reset_clip_ids`, if the charts are imported).

Both are called from code that binds no name in the user namespace
(``__import__("analysis.kernel_state").kernel_state.reset(...)``) and runs without history.
:func:`warm` runs as the kernel starts (before :func:`snapshot`): it imports what the book's
notebooks import, starts vl-convert's JavaScript runtime and loads the data, while the executor
is still validating -- so the first notebook of each kernel does not wait for them.
Only the standard library and IPython are imported at the top of this module.
"""
from __future__ import annotations

import gc
import os
import sys
import warnings

_STATE: dict = {}
#: modules the book's notebooks import, imported by :func:`warm`
WARM_MODULES = ("analysis.present.study", "analysis.present.synthesis", "analysis.present.tables",
                "analysis.present.charts.setforest", "analysis.present.charts.bars",
                "analysis.present.charts.envelopeplot", "analysis.present.charts.kmplot",
                "analysis.review.plan", "vl_convert")


def warm() -> None:
    """Import :data:`WARM_MODULES`, start vl-convert's runtime, load the data (errors are left
    for the notebooks to meet: the build validates the data itself)."""
    import importlib

    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a notebook that needs it will say why
            pass
    try:
        sys.modules["vl_convert"].vegalite_to_svg({"mark": "point", "data": {"values": [{}]}})
        sys.modules["analysis.review.loading"].load()
        sys.modules["analysis.review.plan"].load_plan()
    except Exception:  # noqa: BLE001
        pass


def snapshot() -> None:
    """Record the fresh kernel's user namespace and warning filters (call once, before any notebook)."""
    from IPython import get_ipython

    _STATE["names"] = dict(get_ipython().user_ns)
    _STATE["filters"] = list(warnings.filters)
    _STATE["runs"] = 0


def reset(cwd: str) -> None:
    """Make the kernel look fresh to the next notebook, whose folder is ``cwd`` (module docstring)."""
    from IPython import get_ipython

    ip = get_ipython()
    os.chdir(cwd)  # first: IPython's reset records the working directory in the directory history
    if _STATE["runs"] == 1:
        # after the first notebook the stack is imported and the data loaded: move those objects out
        # of the collector's way, so that the collections below and during later notebooks scan
        # only what a notebook allocates (IPython's reset collects garbage each time)
        gc.collect()
        gc.freeze()
    _STATE["runs"] += 1
    ip.reset(new_session=True)  # a new history session, as a fresh kernel opens: the count restarts at 1
    ns = ip.user_ns
    for name in [n for n in ns if n not in _STATE["names"]]:
        del ns[name]
    for name, value in _STATE["names"].items():
        ns.setdefault(name, value)
    ip.execution_count = 1  # (reset does it; said again because the stored counts depend on it)
    warnings.filters[:] = _STATE["filters"]
    warnings._filters_mutated()  # noqa: SLF001 - the documented way to invalidate the "once" caches
    for module in list(sys.modules.values()):
        registry = getattr(module, "__dict__", {}).get("__warningregistry__")
        if isinstance(registry, dict):
            registry.clear()
    render = sys.modules.get("analysis.present.charts.render")
    if render is not None:
        render.reset_clip_ids()
