"""Synthetic reviews of N valid studies, for the scale benchmark (``benchmarks/bench_scale.py``).

``python benchmarks/synthetic.py N DEST [--seed S]`` copies this repository's tracked files to
``DEST/repo`` (with ``shared/`` linked beside it), replaces ``data/studies/`` by N studies and
removes the real studies' chapters and source texts; ``python -m analysis execute`` then writes
one chapter per synthetic study.  Every study passes ``python -m analysis validate`` (checked
here).

Each synthetic study is one of the real study files (a template, drawn at random) with a new
id, title, year and bibliography key, its counts scaled by a random factor (denominators and
arm sizes 0.5-4 times the template's) and its event rates by another one, shared by all its
outcomes so that a grade-3+ count stays below the any-grade count; printed percentages are
recomputed at the template's precision, printed CIs of proportions dropped (they would not
match the new counts); a template whose Kaplan-Meier landmarks are printed for arms of 30 or
fewer keeps its size (its percentages stay reachable); and the template's overlaps replaced by a few random overlaps with
earlier synthetic studies; the records, screening and appraisals are made to match
(:func:`write_records_and_appraisals`).  So the studies differ in outcomes, arms (one or two, combined arms),
survival figures (Kaplan-Meier landmarks and medians) and sizes, and every analysis of the plan
has studies to pool.
"""
from __future__ import annotations

import argparse
import copy
import random
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_build import copy_worktree  # noqa: E402

COUNT_KEYS = ("n_enrolled", "n_leukapheresed", "n_infused", "n_evaluable")


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _pct(k: int, n: int, d: int) -> str:
    return f"{100 * k / n:.{d}f}"


def synthetic_study(template: dict, i: int, rng: random.Random, earlier: list[str]) -> dict:
    """Study ``syn<i>`` made from ``template`` (module docstring)."""
    s = copy.deepcopy(template)
    sid = f"syn{i:04d}"
    # size: a study whose Kaplan-Meier landmarks are printed for small arms keeps its size, so that
    # its printed percentages stay reachable (and their reconstruction as costly as in the real review)
    # (and one whose landmarks are printed for larger arms keeps them above 30, where nothing is enumerated)
    km = [o["denominator"] for o in s["outcomes"] if o.get("estimator") == "km_landmark" and o.get("denominator")]
    f = 1.0 if min(km, default=99) <= 30 else rng.uniform(max(0.5, 31 / min(km, default=99)), 4.0)
    g = rng.lognormvariate(0.0, 0.5)  # event rates (heterogeneity between studies)
    scale = lambda v: max(1, round(v * f))  # noqa: E731
    s["id"] = sid
    s["short_name"] = f"Synthetic {i} ({template['short_name']})"
    c = s["citation"]
    c["title"] = f"Synthetic series {i} after the template {template['id']}"
    c["year"] = rng.randint(2012, 2026)
    c["bibkey"] = sid
    for key in ("doi", "pmid", "registry", "note"):
        c.pop(key, None)
    for key in COUNT_KEYS:
        if isinstance(s["population"].get(key), dict):
            s["population"][key]["value"] = scale(s["population"][key]["value"])
    for d in s["population"].get("diagnoses", []):
        d["count"] = scale(d["count"])
    arm_n = {}
    for arm in s["arms"]:
        if not arm.get("parts"):
            arm["n"]["value"] = arm_n[arm["id"]] = scale(arm["n"]["value"])
    for arm in s["arms"]:
        if arm.get("parts"):
            arm["n"]["value"] = arm_n[arm["id"]] = sum(arm_n[p] for p in arm["parts"])
    for d in s.get("donor_types", []):
        d["count"] = max(0, min(scale(d["count"]), arm_n.get(d.get("arm"), 10**6)))
    for o in s["outcomes"]:
        den_old = o.get("denominator")
        if den_old:
            den = arm_n.get(o["arm"]) if den_old == template_arm_n(template, o["arm"]) else scale(den_old)
            o["denominator"] = den = max(1, den or scale(den_old))
            est = o.get("estimator", "proportion")
            # no all-event count where the template had none (it makes a GLMM unidentifiable)
            top = den if (o.get("events") or 0) >= den_old else den - 1
            if o.get("events") is not None:
                ev = o["events"] if o["events"] or rng.random() < 0.2 else 1  # fewer all-zero series
                o["events"] = max(0, min(top, round(ev / den_old * den * g)))
            elif est == "proportion" and o.get("percent") is not None:
                k = max(0, min(top, round(float(o["percent"]) / 100 * den * g)))
                o["percent"] = _pct(k, den, _decimals(o["percent"]))
            if est == "proportion" and o.get("events") is not None and o.get("percent") is not None:
                o["percent"] = _pct(o["events"], den, _decimals(o["percent"]))
            if est == "proportion":
                o.pop("ci", None)
                o["flags"] = [fl for fl in o.get("flags", []) if fl.get("kind") != "percent_not_reproducible"]
                if not o["flags"]:
                    o.pop("flags")
    s.pop("reconstruction", None)
    s["overlap"] = [{"study": other, "likelihood": rng.choice(["possible", "probable", "confirmed"]),
                     "reason": "synthetic: drawn at random"}
                    for other in rng.sample(earlier[-50:], k=min(len(earlier[-50:]), 1)) if rng.random() < 0.1]
    s["flags"] = [fl for fl in s.get("flags", []) if "overlap" not in fl.get("kind", "")]
    return s


def template_arm_n(template: dict, arm: str) -> int | None:
    return next((a["n"]["value"] for a in template["arms"] if a["id"] == arm), None)


def write_review(n: int, dest: Path, seed: int = 18) -> Path:
    """A copy of this repository under ``dest/repo`` whose review is ``n`` synthetic studies."""
    repo = copy_worktree(dest)
    templates = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "data" / "studies").glob("*.yaml"))]
    studies = repo / "data" / "studies"
    shutil.rmtree(studies)
    studies.mkdir()
    shutil.rmtree(repo / "data" / "sources", ignore_errors=True)
    shutil.rmtree(repo / "data" / "curves", ignore_errors=True)
    (repo / "data" / "curves").mkdir()
    for p in (repo / "book" / "studies").glob("*.ipynb"):
        p.unlink()
    rng = random.Random(seed)
    ids: list[str] = []
    made: list[tuple[dict, dict]] = []
    for i in range(1, n + 1):
        template = rng.choice(templates)
        s = synthetic_study(template, i, rng, ids)
        (studies / f"{s['id']}.yaml").write_text(yaml.safe_dump(s, allow_unicode=True, sort_keys=False), encoding="utf-8")
        ids.append(s["id"])
        made.append((template, s))
    write_records_and_appraisals(repo / "data", made)
    return repo


def write_records_and_appraisals(data: Path, made: list[tuple[dict, dict]]) -> None:
    """What ``validate`` asks of an included study besides its file: a screened record and an appraisal.

    The real records and screening are replaced by one synthetic database search whose every
    record (a made-up PMID) is included as one synthetic study; each study's appraisal is its
    template's, with the study id replaced (the arms are the template's).
    """
    from analysis.review.records import to_ris

    records = data / "records"
    shutil.rmtree(records, ignore_errors=True)
    records.mkdir()
    version = yaml.safe_load((data / "changelog.yaml").read_text(encoding="utf-8"))[0]["version"]
    hits = [{"title": s["citation"]["title"], "authors": "; ".join(s["citation"].get("authors") or []),
             "year": str(s["citation"]["year"]), "pmid": str(90_000_000 + i), "type": "JOUR"}
            for i, (_, s) in enumerate(made, 1)]
    (records / "synthetic.ris").write_text(to_ris(hits), encoding="utf-8")
    search = {"id": "synthetic", "version": version, "date": "2026-12-01", "method": "database",
              "source": "Synthetic records (benchmark)", "queries": ["synthetic"], "hits": len(hits),
              "export": "synthetic.ris", "format": "ris"}
    (records / "searches.yaml").write_text(yaml.safe_dump([search], sort_keys=False), encoding="utf-8")
    screening = [{"record": f"pmid:{h['pmid']}", "title_abstract": "include", "full_text": "include",
                  "assessed_on": "full_text", "study": s["id"]} for h, (_, s) in zip(hits, made)]
    (records / "screening.yaml").write_text(yaml.safe_dump(screening, sort_keys=False), encoding="utf-8")
    appraisal = data / "appraisal"
    for p in appraisal.glob("*.yaml"):
        if p.stem not in ("grade_rules", "grade_overrides"):
            p.unlink()
    for template, s in made:
        a = yaml.safe_load((ROOT / "data" / "appraisal" / f"{template['id']}.yaml").read_text(encoding="utf-8"))
        a["study"] = s["id"]
        (appraisal / f"{s['id']}.yaml").write_text(yaml.safe_dump(a, allow_unicode=True, sort_keys=False), encoding="utf-8")


def validate(repo: Path) -> str:
    res = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "analysis", "validate", "data"], cwd=repo,
                         env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    if res.returncode != 0:
        raise ValueError(f"synthetic review invalid:\n{res.stdout[-4000:]}{res.stderr[-2000:]}")
    return res.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("dest")
    ap.add_argument("--seed", type=int, default=18)
    args = ap.parse_args(argv)
    repo = write_review(args.n, Path(args.dest), args.seed)
    print(validate(repo), f"({repo})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

