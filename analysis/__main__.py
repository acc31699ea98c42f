"""Command line: ``python -m analysis validate [DIR] | new-study ID | execute [DIR] [--force] | export DIR |
import-search FILE --source S | release VERSION | cite``.

The built site is checked by ``tools/check_site.py`` (``make check-site``)."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .review import loading as data

ROOT = Path(__file__).resolve().parents[1]


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate the study files (and the analysis plan, changelog and harmonisation files) of a data folder."""
    from .review.plan import PLAN_FILE, load_plan

    from .review.datasets import problems as other_problems
    from .review.validation import study_files

    directory = Path(args.directory) if args.directory else data.DATA_DIR
    known = None
    try:  # load() validates every study file and keeps the result: `execute` validates only once
        studies, problems = data.load(directory).studies, []
    except data.DataError as exc:
        # the studies whose files passed, and the ids of every study file (one that failed is still
        # known: the records and appraisals naming it are not blamed for its problems)
        studies, problems = data.validate(directory)[0], list(exc.problems)
        known = [f.stem for f in study_files(directory)[0]]
    problems += other_problems(directory, studies, known)
    for name, reader in (("changelog.yaml", data.changelog), ("harmonisation.yaml", data.harmonisation),
                         (PLAN_FILE, load_plan)):
        if (directory / name).is_file():
            try:
                reader(directory)
            except data.DataError as exc:
                problems += exc.problems
            except Exception as exc:  # noqa: BLE001 - a defect is reported as a problem line, not a traceback
                problems.append(data.Problem(data.display(directory / name), "-", "(file)",
                                             f"internal error while checking {name}: {type(exc).__name__}: {exc}"))
    if problems:
        for p in problems:
            print(p)
        print(f"{len(problems)} problem(s) in {directory}", file=sys.stderr)
        return 1
    n_out = sum(len(s.outcomes) for s in studies)
    n_flags = sum(len(s.flags) + sum(len(o.flags) for o in s.outcomes) for s in studies)
    print(f"ok: {len(studies)} studies, {n_out} outcome records, {n_flags} recorded flags in {directory}")
    return 0


def cmd_new_study(args: argparse.Namespace) -> int:
    """Scaffold a study: its data file from the skeleton when missing, else its chapter from the template."""
    from . import chapters

    sid = args.id
    if not re.fullmatch(r"[a-z][a-z0-9_]*", sid):
        print(f"study id {sid!r} must be lower case letters, digits and underscores", file=sys.stderr)
        return 1
    path = data.DATA_DIR / "studies" / f"{sid}.yaml"
    if not path.exists():
        path.write_text(chapters.SKELETON.read_text(encoding="utf-8").replace("__STUDY_ID__", sid), encoding="utf-8")
        print(f"wrote {path}: fill it in (every TODO), then run `make validate` and this command again")
        return 0
    study, problems = data.parse_study(path)
    if study is None:
        for p in problems:
            print(p, file=sys.stderr)
        print(f"fix {path} first: the chapter takes its title from it", file=sys.stderr)
        return 1
    target = chapters.STUDIES / f"{sid}.ipynb"
    if target.exists():
        print(f"{target} exists; not overwritten", file=sys.stderr)
        return 1
    target.write_text(chapters.dumps(chapters.render(sid, study.short_name)), encoding="utf-8")
    print(f"wrote {target}; add a line to data/changelog.yaml, then `make execute` stores its outputs")
    return 0


def execute_notebook(path: Path) -> None:
    """Execute a notebook in place in a fresh kernel, storing only what the code produces.

    The reference the warm kernels of :mod:`analysis.build` are tested against.

    Re-executing an unchanged notebook on unchanged data rewrites the same bytes: no execution
    timestamps (``record_timing=False``, and old ``metadata.execution`` removed) and no Python
    version in the notebook metadata (the kernel name is pinned to ``python3``).
    """
    from .kernels import CELL_TIMEOUT, normalise  # first: nbformat without the IRI grammar (kernels.py)

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(normalise(nb), path)


def cmd_execute(args: argparse.Namespace) -> int:
    """Validate the data, bring generated chapters in line with the template and the plan, then
    execute every notebook whose stored outputs are not current (:mod:`analysis.build`)."""
    from . import build, chapters, notebooks
    from .review.plan import load_plan

    notebooks.use_fit_store()  # before the kernels start: they inherit it
    with build.Pool(args.jobs) as pool:
        if args.force or not build.CACHE_FILE.is_file():
            pool.launch()  # everything will run: the kernels import and load while the data is validated
        if cmd_validate(argparse.Namespace(directory=None)) != 0:
            return 1
        review = data.load()
        for line in chapters.sync(review.studies, load_plan()):
            print(line)
        result = build.execute_book(review, Path(args.directory), force=args.force, pool=pool)
    for o in result.failed:
        print(f"\n{o.path}: {o.error}", file=sys.stderr)
    print(f"execute: {len(result.executed)} notebook(s) executed ({len(result.written)} changed), "
          f"{len(result.current)} current, {len(result.failed)} failed, {result.seconds:.1f} s")
    return 0 if result.ok else 1


def cmd_export(args: argparse.Namespace) -> int:
    """Write the studies, outcomes and results tables (CSV and Parquet) into a directory."""
    from .review import export

    review = data.load(args.data) if args.data else data.load()
    for path in export.write(review, args.directory):
        print(f"wrote {path}")
    return 0


def cmd_import_search(args: argparse.Namespace) -> int:
    """Add a search export (RIS or PubMed/MEDLINE) to data/records/: idempotent, never rewriting a decision."""
    from datetime import date

    from .review.screening import import_search

    directory = Path(args.data) if args.data else data.DATA_DIR
    if not Path(args.file).is_file():
        print(f"{args.file}: not imported: no such file", file=sys.stderr)
        return 1
    queries = list(args.query or [])
    if args.query_file:
        queries.append(Path(args.query_file).read_text(encoding="utf-8").strip())
    version = args.version or data.changelog(directory)[0].version
    day = args.date or date.today().isoformat()
    sid = args.id or re.sub(r"[^a-z0-9]+", "-", f"{args.source}-{day}".lower()).strip("-")
    search = {"id": sid, "version": version, "date": day, "method": args.method, "source": args.source,
              "queries": queries or ["(not given)"]}
    if args.hits is not None:
        search["hits"] = args.hits
    if args.interface:
        search["interface"] = args.interface
    try:
        for line in import_search(directory, Path(args.file), search):
            print(line)
    except (OSError, ValueError) as exc:
        print(f"{args.file}: not imported: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    """Store the results, studies and certainty tables of a version under data/releases/VERSION/."""
    from .review.living import state, write_release

    try:
        for path in write_release(state(args.data), args.version):
            print(f"wrote {path}")
    except (ValueError, data.DataError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    """Write CITATION.cff for the current version (from the changelog, protocol and team files)."""
    from .review.citation import cff

    path = Path(args.output)
    path.write_text(cff(Path(args.data) if args.data else data.DATA_DIR), encoding="utf-8")
    print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="validate every study file; exit 1 listing all problems")
    p.add_argument("directory", nargs="?")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("new-study", help="write data/studies/ID.yaml from the skeleton (when missing), "
                       "else book/studies/ID.ipynb from the chapter template")
    p.add_argument("id")
    p.set_defaults(func=cmd_new_study)
    p = sub.add_parser("execute", help="execute, in place, every notebook whose stored outputs are not current")
    p.add_argument("directory", nargs="?", default=str(ROOT / "book"))
    p.add_argument("--force", action="store_true", help="execute every notebook, current or not")
    p.add_argument("--jobs", type=int, help="number of kernels (default: one per core)")
    p.set_defaults(func=cmd_execute)
    p = sub.add_parser("export", help="write the studies, outcomes and results tables as CSV and Parquet")
    p.add_argument("directory")
    p.add_argument("--data", help="the data directory (default: the repository's data/)")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("import-search", help="add a search export (RIS or PubMed/MEDLINE) to data/records/, "
                       "with a pending screening entry per new record")
    p.add_argument("file")
    p.add_argument("--source", required=True, help="e.g. PubMed, Embase (Ovid), ClinicalTrials.gov")
    p.add_argument("--method", default="database",
                   choices=["database", "register", "website", "organisation", "citation_searching", "supplied"])
    p.add_argument("--query", action="append", help="the exact query as run (repeatable)")
    p.add_argument("--query-file", help="a file holding the exact query")
    p.add_argument("--date", help="day the search was run (default: today)")
    p.add_argument("--version", help="review version the search is for (default: the newest in the changelog)")
    p.add_argument("--hits", type=int, help="hits the source reported (default: the records in the file)")
    p.add_argument("--interface", help="e.g. Ovid, PubMed web")
    p.add_argument("--id", help="search id (default: source and date)")
    p.add_argument("--data", help="the data directory (default: the repository's data/)")
    p.set_defaults(func=cmd_import_search)
    p = sub.add_parser("release", help="store data/releases/VERSION/ (results as exported, studies, certainty)")
    p.add_argument("version")
    p.add_argument("--data", help="the data directory (default: the repository's data/)")
    p.set_defaults(func=cmd_release)
    p = sub.add_parser("cite", help="write CITATION.cff for the current version")
    p.add_argument("--output", default=str(ROOT / "CITATION.cff"))
    p.add_argument("--data", help="the data directory (default: the repository's data/)")
    p.set_defaults(func=cmd_cite)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
