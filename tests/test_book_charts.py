"""Every chart the book stores is a valid Vega-Lite spec.

The build writes chart specs without validating them (``analysis.present.charts.render.spec_of``:
validation cost a tenth of a second per chart and never changed the spec), so this checks them
all where they end up: the spec inlined in each chart output of every notebook of ``book/``,
validated against the Vega-Lite schema altair ships.
"""
from __future__ import annotations

import json
import re

import pytest

from analysis.notebooks import discover
from factory import ROOT

_SPEC = re.compile(r'var id="altair-viz-[0-9a-f]+",spec=(\{.*?\}),opt=\{', re.S)


def stored_specs() -> list[tuple[str, dict]]:
    out = []
    for path in discover(ROOT / "book"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            for output in cell.get("outputs", []):
                html = "".join(output.get("data", {}).get("text/html", ""))
                for i, m in enumerate(_SPEC.finditer(html)):
                    out.append((f"{path.relative_to(ROOT)}:{cell.get('id', '?')}:{i}", json.loads(m.group(1))))
    return out


SPECS = stored_specs()


def test_the_book_has_charts():
    assert len(SPECS) >= 5


@pytest.fixture(scope="module")
def validator():
    """One validator of the Vega-Lite schema Altair ships (the draft its ``$schema`` names; no format
    checker, as Altair validates).  Altair's ``validate_jsonschema`` builds one per spec: 4.5 s for
    the book's charts against 2.6 s."""
    import jsonschema
    from altair.vegalite.v6.schema import load_schema

    schema = load_schema()
    return jsonschema.validators.validator_for(schema)(schema)


def first_error(validator, spec: dict):
    """The error jsonschema ranks most relevant, or None for a valid spec."""
    import jsonschema

    return jsonschema.exceptions.best_match(validator.iter_errors(spec))


def test_every_stored_chart_spec_is_valid_vega_lite(validator):
    bad = [f"{where}: {err.message[:200]}" for where, spec in SPECS
           for err in [first_error(validator, spec)] if err is not None]
    assert bad == []


def test_the_check_can_fail(validator):
    from altair.utils.schemapi import validate_jsonschema

    where, spec = SPECS[0]
    broken = {**spec, "mark": {"type": "no-such-mark"}} if "mark" in spec else {**spec, "vconcat": 3}
    assert first_error(validator, broken) is not None, where
    # the validator here judges as Altair's own validation does (of the same schema)
    assert validate_jsonschema(broken, validator.schema, raise_error=False) is not None
    assert validate_jsonschema(spec, validator.schema, raise_error=False) is None
