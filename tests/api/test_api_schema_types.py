"""The insights output schemas are validated against the library's result dataclasses, field by field: the same
type (a nested library class maps to its schema) and, where the schema gives a default, the same default.

tests/api/test_api_nps_fields.py checks that no field is missing; this checks that none drifts."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from api.schemas.insights import ActionPointOut, NpsChangeOut, NpsPeriodOut, NpsSummaryOut, PassiveDriverOut, QuoteOut
from nps_nlp.action_points import ActionPoint, PassiveDriver, Quote
from nps_nlp.nps import NpsChange, NpsSummary

SCHEMA_OF: dict[type, type] = {
    NpsSummary: NpsSummaryOut,
    NpsChange: NpsChangeOut,
    PassiveDriver: PassiveDriverOut,
    ActionPoint: ActionPointOut,
    Quote: QuoteOut,
}
MIRRORS = [*SCHEMA_OF.items(), (NpsSummary, NpsPeriodOut)]


def _as_schema(annotation: typing.Any) -> typing.Any:
    """An annotation of the library with every library class in it replaced by its schema."""
    if annotation in SCHEMA_OF:
        return SCHEMA_OF[annotation]
    args = typing.get_args(annotation)
    if not args:
        return annotation
    origin = typing.get_origin(annotation)
    mapped = tuple(_as_schema(arg) for arg in args)
    if origin is typing.Union or origin is type(int | None):
        return typing.Union[mapped]  # noqa: UP007 - rebuilt from its parts
    if origin is typing.Literal:
        return annotation
    return origin[mapped if len(mapped) > 1 else mapped[0]]


def test_the_mapping_maps_nested_classes() -> None:
    assert _as_schema(list[Quote]) == list[QuoteOut]
    assert _as_schema(NpsSummary | None) == NpsSummaryOut | None
    assert _as_schema(tuple[float, float] | None) == tuple[float, float] | None


@pytest.mark.parametrize(("library", "schema"), MIRRORS, ids=lambda c: c.__name__)
def test_each_field_has_the_library_type(library: type, schema: type) -> None:
    hints = typing.get_type_hints(library)
    drifted = {f.name: (hints[f.name], schema.model_fields[f.name].annotation) for f in dataclasses.fields(library)
               if _as_schema(hints[f.name]) != schema.model_fields[f.name].annotation}
    assert not drifted, f"{schema.__name__} types differ from {library.__name__} (library, schema): {drifted}"


@pytest.mark.parametrize(("library", "schema"), MIRRORS, ids=lambda c: c.__name__)
def test_a_schema_default_is_the_library_default(library: type, schema: type) -> None:
    drifted = {}
    for f in dataclasses.fields(library):
        info = schema.model_fields[f.name]
        if info.is_required():
            continue
        given = info.get_default(call_default_factory=True)
        expected = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if expected is dataclasses.MISSING or given != expected:
            drifted[f.name] = (expected, given)
    assert not drifted, f"{schema.__name__} defaults differ from {library.__name__} (library, schema): {drifted}"
