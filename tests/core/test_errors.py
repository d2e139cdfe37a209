"""The one-line ``detail`` of a validation error leads to the first problem, however deeply it is nested."""

from __future__ import annotations

import pytest

from core.errors import _summary


@pytest.mark.parametrize(
    ("errors", "detail"),
    [
        ({"settings": {"production": {"database": ["This field is required."]}}}, "settings: production: database: "),
        ({"steps": [{}, {"name": ["Give the step a name."]}]}, "steps: 1: name: Give the step a name."),
        ({"name": ["Too long."], "non_field_errors": ["Pick another."]}, "name: Too long.; Pick another."),
        ({"tags": [[], "Use text."]}, "tags: Use text."),
        ({}, "Invalid input."),
    ],
)
def test_the_summary_names_the_path_to_the_first_message(errors, detail):
    assert _summary(errors).startswith(detail)
