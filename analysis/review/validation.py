"""Reading and validating the study files of a data folder: every problem a line, never a traceback.

:func:`validate` finds the study files (:func:`study_files`), reads each one safely
(:func:`read_yaml`: size limit, UTF-8, a safe YAML loader that rejects duplicate keys, errors
of any kind turned into problems), validates its structure (pydantic, :mod:`.schema`) and
meaning (:func:`analysis.review.checks.check_study`) and then checks the studies against each
other (duplicate ids and citation keys, overlap targets).  A file whose checking fails
unexpectedly gives an ``internal error`` problem naming it, and the other files are still
checked.  Each problem is a :class:`~analysis.review.schema.Problem`:
``file: study: field: message``.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from . import schema
from .checks import check_study
from .schema import Problem, Study, short

#: the one spelling of a study file (``data/studies/<id>.yaml``)
STUDY_SUFFIX = ".yaml"
#: a study file is a few kilobytes (the largest today is 11 kB); anything larger than this is not a study
#: file, and would take longer than a second to parse
MAX_FILE_BYTES = 256_000
#: deepest nesting of flow collections (``[`` / ``{``) a study file may have (real files: 2); deeper
#: nesting makes YAML parsers slow (quadratic) or exhaust the recursion limit
MAX_FLOW_DEPTH = 64
#: the hand-kept bibliography beside ``studies/`` (references that are not studies: methods papers)
HAND_KEPT_BIB = "references.bib"


class DataError(ValueError):
    """Invalid study data; ``problems`` lists every problem found, one per line in ``str``."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when available: linear, fast
    """A safe YAML loader that rejects duplicate mapping keys (PyYAML keeps the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            continue  # construct_mapping below reports the unhashable key
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {short(key)} (first at line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def display(path: Path) -> str:
    """Path as the user should read it: relative to the current directory when possible."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def flow_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in ``text`` (brackets inside quotes counted too: an upper bound)."""
    depth = deepest = 0
    for ch in re.sub(r"[^\[\]{}]+", "", text):
        depth = depth + 1 if ch in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def read_yaml(path: Path, study: str = "-") -> tuple[object, list[Problem]]:
    """Read one YAML file; returns ``(data, [])`` or ``(None, [problem])`` -- never raises for bad content."""
    shown = display(path)
    fail = lambda where, msg: (None, [Problem(shown, study, where, msg)])  # noqa: E731
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return fail("(file)", f"{size:,} bytes: larger than {MAX_FILE_BYTES:,}, not a study file")
        data = path.read_bytes()
    except OSError as exc:
        return fail("(file)", f"cannot read: {exc.strerror or exc}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return fail("(file)", f"not UTF-8 text (byte {exc.start}: {exc.object[exc.start]:#04x})")
    if flow_depth(text) > MAX_FLOW_DEPTH:
        return fail("(file)", f"brackets nested more than {MAX_FLOW_DEPTH} deep: not a study file")
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader), []  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        return fail(where, f"YAML syntax error: {getattr(exc, 'problem', None) or exc}")
    except RecursionError:
        return fail("(file)", "YAML nesting too deep to be a study file")
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        return fail("(file)", f"YAML value cannot be read: {str(exc)[:120]}")


def pydantic_message(err: dict) -> str:
    """One pydantic error as a short sentence (the offending value shown bounded)."""
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return f"{short(value)} is not one of {err['ctx']['expected']}"
    if kind == "string_pattern_mismatch":
        return f"{short(value)} does not match the pattern {err['ctx']['pattern']}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"expected a whole number, got {short(value)}" + (" (a boolean)" if isinstance(value, bool) else "")
    if kind in ("float_parsing", "float_type"):
        return f"expected a number, got {short(value)}" + (" (a boolean)" if isinstance(value, bool) else "")
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {short(value)}"
    if kind == "finite_number":
        return f"expected a finite number, got {short(value)}"
    if kind in ("string_type", "model_type", "dict_type", "list_type", "model_attributes_type"):
        want = {"string_type": "text", "list_type": "a list"}.get(kind, "a mapping of fields")
        return f"expected {want}, got {short(value)}"
    if kind == "too_short":
        return f"needs at least {err['ctx']['min_length']} item(s)"
    if kind == "value_error":  # our own validators name the value themselves
        return err["msg"].removeprefix("Value error, ")
    msg = err["msg"]
    return f"{msg} (got {short(value)})" if value is not None and not isinstance(value, (dict, list)) else msg


def check_raw(raw: object, shown: str, stem: str) -> tuple[Study | None, list[Problem]]:
    """Validate one study given as parsed YAML; returns the study (or None) and its problems.

    Pure (no file access); raises only on a defect of this package, never on bad input.
    """
    if not isinstance(raw, dict):
        got = "an empty document" if raw is None else short(raw)
        return None, [Problem(shown, stem, "(top level)", f"expected a mapping of fields, got {got}")]
    declared = raw.get("id")
    sid = declared if isinstance(declared, str) and re.fullmatch(schema.ID_PATTERN, declared) else stem
    problems: list[Problem] = []
    if declared != stem:
        problems.append(Problem(shown, sid, "id", f"{short(declared)} does not match the file name {stem!r}"))
    try:
        study = Study.model_validate(raw)
    except ValidationError as exc:
        problems += [Problem(shown, sid, schema.field_path(e["loc"]), pydantic_message(e)) for e in exc.errors()]
        return None, problems
    problems += [Problem(shown, sid, f, m) for f, m in check_study(study)]
    return (study if not problems else None), problems


def parse_study(path: Path) -> tuple[Study | None, list[Problem]]:
    """Read and validate one study file; returns the study (or None) and its problems."""
    raw, problems = read_yaml(path, path.stem)
    return (None, problems) if problems else check_raw(raw, display(path), path.stem)


def studies_folder(directory: Path) -> Path:
    """``directory/studies`` when it exists (a data folder), else ``directory`` itself."""
    return directory / "studies" if (directory / "studies").is_dir() else directory


def study_files(directory: Path) -> tuple[list[Path], list[Problem]]:
    """The study files of a data folder, and a problem for everything else found there.

    Only ``<id>.yaml`` is read.  A ``.yml`` file is refused loudly rather than accepted: one
    spelling keeps ``id == file name`` unambiguous (``x.yml`` beside ``x.yaml`` would be two
    files for one study) and is what ``new-study``, the chapters and the table of contents
    expect.  Any other file or folder is reported, and so is a symbolic link that leads out of
    ``directory`` (or nowhere).
    """
    shown = display(directory)
    if not directory.exists():
        return [], [Problem(shown, "-", "(path)", "no such file or directory")]
    if not directory.is_dir():
        return [], [Problem(shown, "-", "(path)", "is a file, not a folder: give the data folder (e.g. data) "
                            "or its studies/ folder")]
    root = directory.resolve()
    files, problems = [], []
    for entry in sorted(studies_folder(directory).iterdir()):
        where = lambda msg, e=entry: Problem(display(e), e.stem, "(file)", msg)  # noqa: E731
        if entry.is_symlink():
            target = entry.resolve()
            if not target.is_relative_to(root):
                problems.append(where(f"symbolic link to {target}, outside {shown}: refused"))
                continue
            if not target.exists():
                problems.append(where(f"broken symbolic link (to {target})"))
                continue
        if entry.is_dir():
            problems.append(where("a folder among the study files: not read (move it out)"))
        elif not entry.is_file():  # a FIFO or device would block or never end when read
            problems.append(where("not a regular file: not read"))
        elif entry.suffix == ".yml":
            problems.append(where(f"study files end in {STUDY_SUFFIX}: rename it to {entry.stem}{STUDY_SUFFIX} "
                                  "(a .yml file is not read)"))
        elif entry.suffix != STUDY_SUFFIX:
            problems.append(where(f"not a study file (study files are <id>{STUDY_SUFFIX}): not read (move it out)"))
        else:
            files.append(entry)
    if not files and not problems:
        problems.append(Problem(shown, "-", "(directory)", f"no study files (*{STUDY_SUFFIX}) found"))
    return files, problems


def _safely(path: Path) -> tuple[Study | None, list[Problem], object]:
    """:func:`parse_study` with a last line of defence: a defect becomes an ``internal error`` problem."""
    try:
        raw, problems = read_yaml(path, path.stem)
        if problems:
            return None, problems, None
        study, problems = check_raw(raw, display(path), path.stem)
        return study, problems, raw
    except Exception as exc:  # noqa: BLE001 - reported as a problem; the other files are still checked
        return None, [Problem(display(path), path.stem, "(file)",
                              f"internal error while checking {path.name}: {type(exc).__name__}: {str(exc)[:200]}")], None


def _declared_id(raw: object, stem: str) -> str:
    ident = raw.get("id") if isinstance(raw, dict) else None
    return ident if isinstance(ident, str) and re.fullmatch(schema.ID_PATTERN, ident) else stem


def hand_kept_keys(directory: Path) -> set[str]:
    """Citation keys of the hand-kept bibliography ``directory/references.bib`` (empty if absent)."""
    path = directory / HAND_KEPT_BIB
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    return set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", text))


def validate(directory: Path) -> tuple[list[Study], list[Problem]]:
    """Parse every study file under ``directory`` and run the cross-study checks.

    Cross-study rules: a study id is declared by one file only; citation keys are unique (and
    not already in the hand-kept ``references.bib``); an overlap names a study that has a file
    (a study whose file fails is still known, so its neighbours are not blamed for it).
    """
    files, problems = study_files(directory)
    parsed = [(f, *_safely(f)) for f in files]
    declared: dict[str, str] = {}
    for f, _, probs, raw in parsed:
        problems += probs
        sid = _declared_id(raw, f.stem)
        if sid in declared:
            problems.append(Problem(display(f), sid, "id", f"duplicate study id {sid!r} (also in {declared[sid]})"))
        else:
            declared[sid] = display(f)
    known = set(declared) | {f.stem for f in files}
    studies = [s for f, s, _, _ in parsed if s is not None and declared.get(s.id) == display(f)]
    shown = {s.id: declared[s.id] for s in studies}
    bibkeys: dict[str, str] = {}
    hand_kept = hand_kept_keys(directory)
    for s in studies:
        key = s.citation.bibkey
        if key in bibkeys:
            problems.append(Problem(shown[s.id], s.id, "citation.bibkey", f"{key!r} is also the key of {bibkeys[key]}"))
        elif key in hand_kept:
            problems.append(Problem(shown[s.id], s.id, "citation.bibkey",
                                    f"{key!r} is also a key in {display(directory / HAND_KEPT_BIB)}"))
        bibkeys.setdefault(key, s.id)
        for i, ov in enumerate(s.overlap):
            if ov.study not in known:
                problems.append(Problem(shown[s.id], s.id, f"overlap[{i}].study", f"unknown study {ov.study!r}"))
    return studies, problems
