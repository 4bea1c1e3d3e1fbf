"""A payer's conditions beyond the fixed ones: a small generic language, checked when a policy loads.

A condition names a field of the quote request's `person` or `stay` by path, an operator and a
value: `{field: person.age, op: lt, value: 15}`, `{field: person.household, op: ne, value: urban}`.
The fields are read off the request models themselves, so a field added to `Person` or `Stay` can be
named at once, without code per region; an unknown field, an operator the field's type cannot take
or a value that is not of the field's type is a load error. A field the request left out (None)
satisfies only `ne` and `not_in`: a condition never holds on a fact nobody stated.

Populations (`populations:` in a policy) are named sets of people: any of a list of categories, and
every one of their conditions (on `person.*` only: a population is who someone is, not where they
are treated). A payer's `when.population` and the tilts' `population` name them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from onestop.contracts.enums import Category, HospitalLevel, StayKind
from onestop.contracts.quote import Person, Stay

Op = Literal["eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "prefix", "contains"]
Predicate = Callable[[Person, Stay], bool]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the scalar type, whether the field is a list of it), Optional removed."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is list:
        return args[0], True
    if args and get_origin(annotation) is not Literal:
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation, False


FIELDS: dict[str, tuple[str, str, Any, bool]] = {
    f"{root}.{name}": (root, name, *_unwrap(info.annotation))
    for root, model in (("person", Person), ("stay", Stay))
    for name, info in model.model_fields.items()
}
"""path → (person | stay, attribute, scalar type, is a list): every field a quote request carries."""

_ORDERED = (int, date)


def _ordered(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, _ORDERED) and not issubclass(t, bool | Enum)


class Condition(BaseModel):
    """One `{field, op, value}`; the value is checked and converted to the field's type here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(description="person.<field> or stay.<field> of the quote request")
    op: Op
    value: Any

    @model_validator(mode="after")
    def _typed(self) -> Condition:
        spec = FIELDS.get(self.field)
        if spec is None:
            raise ValueError(f"unknown field {self.field!r}; a condition can name: {', '.join(sorted(FIELDS))}")
        _root, _name, typ, is_list = spec
        if is_list and self.op not in ("contains", "in", "not_in"):
            raise ValueError(f"{self.field} is a list: use contains (one value) or in / not_in (any of a list)")
        if self.op in ("lt", "le", "gt", "ge") and not _ordered(typ):
            raise ValueError(f"{self.field} cannot be ordered: {self.op} needs a number or a date field")
        if self.op == "prefix" and typ is not str:
            raise ValueError(f"{self.field} is not text: prefix needs a text field")
        if self.op == "contains" and not is_list:
            raise ValueError(f"{self.field} is not a list: use eq")
        many = self.op in ("in", "not_in")
        try:
            shape: Any = list[typ] if many else typ  # type: ignore[valid-type]  # the field's own type
            value = TypeAdapter(shape).validate_python(self.value)
        except ValidationError as exc:
            raise ValueError(f"value {self.value!r} does not fit {self.field}: {exc.errors()[0]['msg']}") from None
        object.__setattr__(self, "value", frozenset(value) if many else value)
        return self


def _one(c: Condition) -> Predicate:
    root, name, _typ, is_list = FIELDS[c.field]
    on_person = root == "person"
    v, op = c.value, c.op

    def get(person: Person, stay: Stay) -> Any:
        return getattr(person if on_person else stay, name)

    if is_list:
        if op == "contains":
            return lambda p, s: v in get(p, s)
        if op == "in":
            return lambda p, s: not v.isdisjoint(get(p, s))
        return lambda p, s: v.isdisjoint(get(p, s))
    tests: dict[str, Callable[[Any], bool]] = {
        "eq": lambda x: x is not None and x == v, "ne": lambda x: x != v,
        "in": lambda x: x in v, "not_in": lambda x: x not in v,
        "lt": lambda x: x is not None and x < v, "le": lambda x: x is not None and x <= v,
        "gt": lambda x: x is not None and x > v, "ge": lambda x: x is not None and x >= v,
        "prefix": lambda x: x is not None and x.startswith(v),
    }
    test = tests[op]
    return lambda p, s: test(get(p, s))


def all_of(preds: list[Predicate]) -> Predicate | None:
    """One predicate for every one of `preds` (None: there are none, anyone qualifies)."""
    if not preds:
        return None
    if len(preds) == 1:
        return preds[0]
    return lambda p, s: all(f(p, s) for f in preds)


def compile_conditions(conditions: list[Condition]) -> Predicate | None:
    return all_of([_one(c) for c in conditions])


class Population(BaseModel):
    """A named set of people: any of `categories` and every one of `match` (person fields only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name_zh: str = Field(min_length=1, description="as a patient reads it: 贫困人口, 医疗救助对象")
    categories: list[Category] = Field(min_length=1)
    match: list[Condition] = Field(default_factory=list)
    seed: str | None = None
    illustrative: bool = False

    @model_validator(mode="after")
    def _person_only(self) -> Population:
        for c in self.match:
            if not c.field.startswith("person."):
                raise ValueError(f"a population is who someone is: {c.field} is not a person field")
        return self

    def predicate(self) -> Predicate:
        cats = frozenset(self.categories)
        rest = compile_conditions(self.match)
        if rest is None:
            return lambda p, s: not cats.isdisjoint(p.categories)
        return lambda p, s: not cats.isdisjoint(p.categories) and rest(p, s)


def population_predicate(names: list[str], populations: dict[str, Population]) -> Predicate:
    """Member of any of the named populations (the names are checked by the caller)."""
    preds = [populations[n].predicate() for n in names if n in populations]
    if not preds:
        return lambda p, s: False
    return preds[0] if len(preds) == 1 else (lambda p, s: any(f(p, s) for f in preds))


TiltChooser = Callable[[Person, Stay], "str | None"]


def tilt_chooser(main: Predicate, main_zh: str,
                 outpatient_also: list[tuple[frozenset[HospitalLevel], Predicate, str]]) -> TiltChooser:
    """Whose tilts a quote applies: the tilts' population anywhere, or, on an outpatient visit at the
    listed levels, a further population (003 二(三)2: 贫困人口和医疗救助对象在镇卫生院或村卫生室就诊报销比例
    提高到80%). Answers the population's name for the patient's sentence, None when untilted."""
    outpatient = StayKind.outpatient

    def choose(person: Person, stay: Stay) -> str | None:
        if main(person, stay):
            return main_zh
        if stay.kind is outpatient:
            for levels, pred, zh in outpatient_also:
                if stay.hospital_level in levels and pred(person, stay):
                    return zh
        return None

    return choose


def when_predicate(when: Any, populations: dict[str, Population]) -> Predicate | None:
    """The predicate of a payer's `when` beyond the conditions the resolved payer checks itself
    (categories, insurance, levels, …): household, chronic, population and `match`."""
    preds: list[Predicate] = []
    if when.household:
        households = frozenset(when.household)
        preds.append(lambda p, s: p.household in households)
    if when.chronic is not None:
        chronic = when.chronic
        preds.append(lambda p, s: s.chronic is chronic)
    if when.population:
        preds.append(population_predicate(when.population, populations))
    preds.extend(_one(c) for c in when.match)
    return all_of(preds)
