"""Per-notebook time breakdown: code run inside a kernel before and after a notebook.

:data:`SETUP` installs exclusive timers in the kernel (time is charged to the innermost phase
running): ``imports`` (top-level ``import`` statements, through ``importlib._bootstrap``),
``data load`` (:func:`analysis.review.loading.load`, ``changelog``, ``harmonisation`` and
:func:`analysis.review.plan.load_plan`), ``render`` (Markdown tables, chart specs, the offline
HTML and static SVG of a chart: :func:`analysis.present.tables.show`, ``display_markdown`` and
:func:`analysis.present.charts.render.mimebundle`); the rest of the cells' time is ``compute``.
:data:`REPORT` prints the totals as JSON.  Both run silently (no history, no execution count).

Used by ``benchmarks/bench_build.py`` for the before/after breakdown; never by the build.
"""
from __future__ import annotations

SETUP = r'''
def __probe_setup():
    import importlib._bootstrap as _b
    import sys, time
    clock = time.perf_counter
    totals = {"imports": 0.0, "data load": 0.0, "render": 0.0, "other": 0.0}
    stack = [["other", clock()]]

    def enter(phase):
        now = clock()
        totals[stack[-1][0]] += now - stack[-1][1]
        stack.append([phase, now])

    def leave():
        now = clock()
        phase, t0 = stack.pop()
        totals[phase] += now - t0
        stack[-1][1] = now

    def timed(phase, fn):
        def wrapper(*a, **k):
            enter(phase)
            try:
                return fn(*a, **k)
            finally:
                leave()
        wrapper.__wrapped__ = fn
        wrapper.__name__ = getattr(fn, "__name__", "wrapped")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper

    orig = _b._find_and_load
    _b._find_and_load = timed("imports", orig)
    import analysis.review.loading as L, analysis.review.plan as P
    import analysis.present.tables as T, analysis.present.charts.render as R
    for mod, names, phase in ((L, ("load", "changelog", "harmonisation"), "data load"), (P, ("load_plan",), "data load"),
                              (T, ("show", "display_markdown"), "render"), (R, ("mimebundle",), "render")):
        for name in names:
            setattr(mod, name, timed(phase, getattr(mod, name)))
    sys.modules["__probe__"] = type(sys)("__probe__")
    sys.modules["__probe__"].totals, sys.modules["__probe__"].stack = totals, stack
    sys.modules["__probe__"].restore = lambda: setattr(_b, "_find_and_load", orig)
    stack[-1][1] = clock()
__probe_setup()
del __probe_setup
'''

REPORT = r'''
def __probe_report():
    import json, sys, time
    p = sys.modules["__probe__"]
    p.totals[p.stack[-1][0]] += time.perf_counter() - p.stack[-1][1]
    p.stack[-1][1] = time.perf_counter()
    print(json.dumps(p.totals))
__probe_report()
del __probe_report
'''
