"""Reader of the digitised-curve files in ``data/curves/`` (format in ``data/curves/README.md``).

Files: ``<study_id>__<outcome>__<arm>.csv`` (columns ``time,survival``), the YAML sidecar
``<study_id>__<outcome>__<arm>.yaml`` (required) and the optional risk table
``<study_id>__<outcome>__<arm>__risk.csv`` (columns ``time,n_at_risk``). A
:class:`DigitisedCurve` reconstructs itself with :func:`analysis.stats.survival.guyot`.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from .schema import OUTCOMES
from ..stats.survival import CurveReconstruction, guyot
from ..stats.units import TIME_UNITS

__all__ = ["CURVE_FILE_PATTERN", "SURVIVAL_TOLERANCE", "DigitisedCurve", "load_curve", "load_curves"]

#: ``<study_id>__<outcome>__<arm>.csv``; each part is a lowercase identifier (``[a-z][a-z0-9_]*``
#: without a double underscore), as ``analysis.review.schema.ID_PATTERN``.
_PART = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"
CURVE_FILE_PATTERN = re.compile(rf"^(?P<study>{_PART})__(?P<outcome>{_PART})__(?P<arm>{_PART})\.csv$")
_META_REQUIRED = ("study_id", "outcome", "arm", "figure", "page", "digitiser", "time_unit")
_META_OPTIONAL = ("survival_scale", "total_events", "n_start", "digitised_by", "digitised_on", "source", "notes")
#: tolerance on survival values outside [0, 1] (proportion scale) that cleaning clips silently.
SURVIVAL_TOLERANCE = 0.02


@dataclass
class DigitisedCurve:
    """A digitised published Kaplan-Meier curve read by :func:`load_curve`.

    Attributes
    ----------
    study, outcome, arm : str
        From the file name (and checked against the YAML sidecar).
    points : polars.DataFrame
        ``time``, ``survival`` as digitised (survival rescaled to proportions).
    risk : polars.DataFrame or None
        ``time``, ``n_at_risk`` (the published risk table), when present.
    meta : dict
        The YAML sidecar (figure, page, digitiser, time_unit, total_events, ...).
    path : pathlib.Path
        The curve CSV.
    """

    study: str
    outcome: str
    arm: str
    points: pl.DataFrame
    risk: pl.DataFrame | None
    meta: dict
    path: Path

    @property
    def time_unit(self) -> str:
        return str(self.meta["time_unit"])

    @property
    def total_events(self) -> int | None:
        v = self.meta.get("total_events")
        return None if v is None else int(v)

    def reconstruct(self, **kwargs: Any) -> CurveReconstruction:
        """Run :func:`guyot` on this curve (risk table, or ``n_start`` when there is none)."""
        t, s = self.points["time"].to_list(), self.points["survival"].to_list()
        label = f"{self.study} {self.arm}"
        if self.risk is not None:
            rt, nr = self.risk["time"].to_list(), self.risk["n_at_risk"].to_list()
            return guyot(t, s, rt, nr, self.total_events, percent=False, label=label, **kwargs)
        return guyot(t, s, None, None, self.total_events, n_start=int(self.meta["n_start"]), percent=False,
                     label=label, **kwargs)


def _data_lines(path: Path) -> tuple[list[str], list[int]]:
    """Non-empty, non-comment lines of a CSV and their physical line numbers (1-based)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc})") from None
    pairs = [(line, i + 1) for i, line in enumerate(text.splitlines()) if line.strip() and not line.lstrip().startswith("#")]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _read_numeric_csv(path: Path, columns: tuple[str, ...]) -> tuple[dict[str, list[float]], list[int]]:
    """Columns of a numeric CSV with an exact header, and the physical line number of each data row."""
    lines, phys = _data_lines(path)
    rows = list(csv.reader(lines))
    if not rows:
        raise ValueError(f"{path}: empty file (expected a header {','.join(columns)})")
    header = [h.strip() for h in rows[0]]
    if header != list(columns):
        raise ValueError(f"{path}: header must be exactly {','.join(columns)}; got {','.join(header)}")
    out: dict[str, list[float]] = {c: [] for c in columns}
    for r, row in enumerate(rows[1:], start=1):
        line = phys[r]
        if len(row) != len(columns):
            raise ValueError(f"{path}: line {line}: expected {len(columns)} fields ({','.join(columns)}); got {len(row)}")
        for c, v in zip(columns, row):
            try:
                x = float(v.strip())
            except ValueError:
                raise ValueError(f"{path}: line {line}, column {c}: {v.strip()!r} is not a number") from None
            if not math.isfinite(x):
                raise ValueError(f"{path}: line {line}, column {c}: {v.strip()!r} is not finite")
            out[c].append(x)
    if not out[columns[0]]:
        raise ValueError(f"{path}: no data rows")
    return out, phys[1:]


def _check_name(path: Path, known_studies: Iterable[str] | None) -> tuple[str, str, str]:
    m = CURVE_FILE_PATTERN.match(path.name)
    if not m:
        raise ValueError(f"{path}: file name must be <study_id>__<outcome>__<arm>.csv with lowercase identifiers "
                         f"([a-z][a-z0-9_]*, parts separated by a double underscore), e.g. roddie2025__os__car_dli_ld.csv")
    study, outcome, arm = m.group("study", "outcome", "arm")
    if not re.search(r"\d{4}[a-z]?$", study):
        raise ValueError(f"{path}: study id {study!r} must end with the publication year (e.g. roddie2025, zhang2021b)")
    if known_studies is not None and study not in set(known_studies):
        raise ValueError(f"{path}: unknown study id {study!r} (no data/studies/{study}.yaml)")
    if outcome not in OUTCOMES:
        raise ValueError(f"{path}: unknown outcome {outcome!r} (known: {', '.join(OUTCOMES)})")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    return study, outcome, arm


def _read_sidecar(path: Path, study: str, outcome: str, arm: str) -> dict:
    meta_path = path.with_suffix(".yaml")
    if not meta_path.is_file():
        raise ValueError(f"{meta_path}: missing metadata sidecar for {path.name}")
    try:
        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{meta_path}: invalid YAML ({exc})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{meta_path}: expected a mapping of metadata fields")
    unknown = sorted(set(meta) - set(_META_REQUIRED) - set(_META_OPTIONAL))
    if unknown:
        raise ValueError(f"{meta_path}: unknown field(s) {', '.join(unknown)} (allowed: "
                         f"{', '.join(_META_REQUIRED + _META_OPTIONAL)})")
    for k in _META_REQUIRED:
        if meta.get(k) in (None, ""):
            raise ValueError(f"{meta_path}: missing required field {k}")
    for k, v in (("study_id", study), ("outcome", outcome), ("arm", arm)):
        if str(meta[k]) != v:
            raise ValueError(f"{meta_path}: field {k} is {meta[k]!r} but the file name says {v!r}")
    if meta["time_unit"] not in TIME_UNITS:
        raise ValueError(f"{meta_path}: field time_unit must be one of {', '.join(TIME_UNITS)}; got {meta['time_unit']!r}")
    if meta.get("survival_scale", "proportion") not in ("proportion", "percent"):
        raise ValueError(f"{meta_path}: field survival_scale must be 'proportion' or 'percent'; "
                         f"got {meta['survival_scale']!r}")
    for k in ("total_events", "n_start"):
        v = meta.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise ValueError(f"{meta_path}: field {k} must be a non-negative integer; got {v!r}")
    return meta


def _read_points(path: Path, scale: float) -> pl.DataFrame:
    cols, phys = _read_numeric_csv(path, ("time", "survival"))
    tol = SURVIVAL_TOLERANCE * scale
    for r, (t, s) in enumerate(zip(cols["time"], cols["survival"])):
        if t < 0:
            raise ValueError(f"{path}: line {phys[r]}, column time: negative time {t:g}")
        if s < -tol or s > scale + tol:
            raise ValueError(f"{path}: line {phys[r]}, column survival: {s:g} is outside [0, {scale:g}] beyond "
                             f"the tolerance {tol:g}")
    if len(cols["time"]) < 2:
        raise ValueError(f"{path}: at least 2 digitised points are needed")
    return pl.DataFrame({"time": cols["time"], "survival": [s / scale for s in cols["survival"]]},
                        schema={"time": pl.Float64, "survival": pl.Float64})


def _read_risk(risk_path: Path) -> pl.DataFrame:
    rc, rphys = _read_numeric_csv(risk_path, ("time", "n_at_risk"))
    for r, (t, k) in enumerate(zip(rc["time"], rc["n_at_risk"])):
        where = f"{risk_path}: line {rphys[r]}"
        if t < 0:
            raise ValueError(f"{where}, column time: negative time {t:g}")
        if k < 0 or k != int(k):
            raise ValueError(f"{where}, column n_at_risk: {k:g} is not a non-negative integer")
        if r == 0 and t != 0:
            raise ValueError(f"{where}, column time: the risk table must start at time 0")
        if r > 0 and t <= rc["time"][r - 1]:
            raise ValueError(f"{where}, column time: times must be strictly increasing")
        if r > 0 and k > rc["n_at_risk"][r - 1]:
            raise ValueError(f"{where}, column n_at_risk: numbers at risk increase "
                             f"({int(rc['n_at_risk'][r - 1])} -> {int(k)})")
    return pl.DataFrame({"time": rc["time"], "n_at_risk": [int(k) for k in rc["n_at_risk"]]},
                        schema={"time": pl.Float64, "n_at_risk": pl.Int64})


def load_curve(path: str | Path, *, known_studies: Iterable[str] | None = None) -> DigitisedCurve:
    """Read and validate one digitised curve (format of ``data/curves/README.md``).

    Raises
    ------
    ValueError
        Naming the file and the field or line: bad file name or study id, header, non-numeric
        or non-finite value, negative time, survival outside [0, 1] (or [0, 100] for
        ``survival_scale: percent``) beyond a tolerance of 0.02 (2 points), fewer than 2 points;
        risk table not starting at 0, times not strictly increasing, counts not non-negative
        integers or increasing; sidecar missing, not a mapping, unknown / missing keys,
        identifiers differing from the file name, unknown time unit, bad ``total_events`` /
        ``n_start``; study id not in ``known_studies`` (when given).
    """
    path = Path(path)
    study, outcome, arm = _check_name(path, known_studies)
    meta = _read_sidecar(path, study, outcome, arm)
    meta_path = path.with_suffix(".yaml")
    points = _read_points(path, 100.0 if meta.get("survival_scale", "proportion") == "percent" else 1.0)
    risk_path = path.with_name(path.stem + "__risk.csv")
    risk = None
    if risk_path.is_file():
        risk = _read_risk(risk_path)
        n0 = risk["n_at_risk"][0]
        if meta.get("n_start") is not None and int(meta["n_start"]) != n0:
            raise ValueError(f"{meta_path}: field n_start ({meta['n_start']}) differs from the number at risk at "
                             f"time 0 in {risk_path.name} ({n0})")
        if meta.get("total_events") is not None and int(meta["total_events"]) > n0:
            raise ValueError(f"{meta_path}: field total_events ({meta['total_events']}) exceeds the number at risk at "
                             f"time 0 ({n0})")
    elif meta.get("n_start") is None:
        raise ValueError(f"{path}: no risk table ({risk_path.name}) and no n_start in {meta_path.name}; "
                         "the reconstruction needs at least the number of patients at time 0")
    return DigitisedCurve(study=study, outcome=outcome, arm=arm, points=points, risk=risk, meta=dict(meta), path=path)


def load_curves(directory: str | Path = "data/curves", *, known_studies: Iterable[str] | None = None) -> list[DigitisedCurve]:
    """All digitised curves of ``directory`` (sorted by file name); ``[]`` when there are none.

    Every ``*.csv`` other than ``*__risk.csv`` is a curve and is validated by :func:`load_curve`;
    a risk table or YAML sidecar without its curve is an error too.
    """
    d = Path(directory)
    if not d.exists():
        return []
    if not d.is_dir():
        raise ValueError(f"{d}: not a directory")
    curves = []
    stems = set()
    for p in sorted(d.glob("*.csv")):
        if p.name.endswith("__risk.csv"):
            continue
        curves.append(load_curve(p, known_studies=known_studies))
        stems.add(p.stem)
    for p in sorted(d.glob("*__risk.csv")):
        if p.name[: -len("__risk.csv")] not in stems:
            raise ValueError(f"{p}: risk table without its curve {p.name[: -len('__risk.csv')]}.csv")
    for p in sorted(list(d.glob("*.yaml")) + list(d.glob("*.yml"))):
        if p.stem not in stems:
            raise ValueError(f"{p}: metadata sidecar without its curve {p.stem}.csv")
    return curves
