"""Command line: ``python -m analysis validate [DIR] | new-study ID | execute [DIR] | export DIR``.

The built site is checked by ``tools/check_site.py`` (``make check-site``)."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .review import loading as data

ROOT = Path(__file__).resolve().parents[1]


def cmd_validate(args: argparse.Namespace) -> int:
    directory = Path(args.directory) if args.directory else data.DATA_DIR
    studies, problems = data.validate(directory)
    for name, reader in (("changelog.yaml", data.changelog), ("harmonisation.yaml", data.harmonisation)):
        if (directory / name).exists():
            try:
                reader(directory)
            except data.DataError as exc:
                problems += exc.problems
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
    """Create the chapter notebook of a study from the template (the data file is yours to write)."""
    from . import chapters

    sid = args.id
    if not re.fullmatch(r"[a-z][a-z0-9_]*", sid):
        print(f"study id {sid!r} must be lower case letters, digits and underscores", file=sys.stderr)
        return 1
    target = chapters.STUDIES / f"{sid}.ipynb"
    if target.exists():
        print(f"{target} exists; not overwritten", file=sys.stderr)
        return 1
    path = data.DATA_DIR / "studies" / f"{sid}.yaml"
    study, problems = data.parse_study(path) if path.exists() else (None, [])
    if study is None:
        for p in problems or [f"data/studies/{sid}.yaml: not found"]:
            print(p, file=sys.stderr)
        print("write a valid data file first: the chapter takes its title from it", file=sys.stderr)
        return 1
    target.write_text(chapters.dumps(chapters.render(sid, study.short_name)), encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}; now run `make execute` to store its outputs")
    return 0


def cmd_execute(args: argparse.Namespace) -> int:
    """Bring study chapters in line with the template, then re-execute notebooks in place."""
    import nbformat
    from nbclient import NotebookClient

    from . import chapters

    root = Path(args.directory)
    from .review.plan import load_plan

    for line in chapters.sync(data.load().studies, load_plan()):
        print(line)
    paths = sorted(p for p in root.rglob("*.ipynb")
                   if not any(part.startswith(("_", ".")) for part in p.relative_to(root).parts))
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        nbformat.write(nb, path)
        print(f"executed {path}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the studies, outcomes and results tables (CSV and Parquet) into a directory."""
    from .review import export

    review = data.load(args.data) if args.data else data.load()
    for path in export.write(review, args.directory):
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="validate every study file; exit 1 listing all problems")
    p.add_argument("directory", nargs="?")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("new-study", help="create book/studies/ID.ipynb from the chapter template")
    p.add_argument("id")
    p.set_defaults(func=cmd_new_study)
    p = sub.add_parser("execute", help="re-execute notebooks in place")
    p.add_argument("directory", nargs="?", default=str(ROOT / "book"))
    p.set_defaults(func=cmd_execute)
    p = sub.add_parser("export", help="write the studies, outcomes and results tables as CSV and Parquet")
    p.add_argument("directory")
    p.add_argument("--data", help="the data directory (default: the repository's data/)")
    p.set_defaults(func=cmd_export)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
