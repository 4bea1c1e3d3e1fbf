"""Issue 11 point 10: the shape the waterfall's code keeps (imports, named steps, sentences)."""

from __future__ import annotations

import ast
from pathlib import Path

from onestop.rules.domain import compute_quote, plans, resolved

A = "250101001"


def _imports(module) -> set[str]:
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}


def test_plans_do_not_import_the_resolved_policy():
    # plans and resolved imported each other (one of them inside a function); both build on `payer`
    assert "onestop.rules.domain.resolved" not in _imports(plans)
    assert "onestop.rules.domain.payer" in _imports(plans) & _imports(resolved)


def test_a_step_is_named(registry, mk):
    from onestop.rules.domain.steps import Step
    from onestop.rules.domain.waterfall import _waterfall

    req = mk(categories=["registered_poor"], lines=[(A, "A", "1000.00")])
    rp = registry.resolve(req.region_code, req.date)
    done, _ = _waterfall(rp, req, 100000, 100000, None)
    q, step = done[0]
    assert isinstance(step, Step) and q.id == "basic"
    assert (step.amount, step.deductible, step.borne) == (68000, 15000, 15000)  # (1000 − 150) × 80%


def test_an_insurer_on_ratio_cap_reports_reimbursing_not_assistance(registry, mk):
    # 410000: 困难群众大病补充保险 is a commercial insurer on ratio_cap; 城乡医疗救助 is assistance
    req = mk("410000", categories=["registered_poor"], lines=[(A, "A", "20000.00")])
    q = compute_quote(registry.resolve(req.region_code, req.date), req)
    texts = {p.payer: p.trace.text_zh for p in q.payers}
    assert "报销基数" in texts["ci_supplement"] and "救助" not in texts["ci_supplement"]
    assert "救助基数" in texts["assistance"]


def test_a_quotes_models_have_every_field_and_share_no_state(registry, mk):
    # the result models are built unvalidated from a template (waterfall._maker): each must hold every
    # field of its own, and two quotes must not share a list through the template
    a = compute_quote(registry.resolve("150222", mk().date), mk(categories=["registered_poor"],
                                                                lines=[(A, "A", "1000.00"), ("NOPE", "B", "5.00")]))
    b = compute_quote(registry.resolve("150222", mk().date), mk(lines=[(A, "A", "10.00")]))
    for m in (a, a.delta, a.payers[0], a.payers[0].trace, a.trace[0], a.catalogue_notes[0]):
        assert m.model_fields_set == set(type(m).model_fields), type(m)
    assert a.payers is not b.payers and a.catalogue_notes is not b.catalogue_notes and b.catalogue_notes == []
    assert type(a).model_validate(a.model_dump(mode="json")).model_dump(mode="json") == a.model_dump(mode="json")
