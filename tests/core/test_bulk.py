"""core.bulk.copy_rows writes exactly what it is given: COPY's NULL marker, quotes, commas and
line breaks inside a text stay text; None is NULL (PostgreSQL's COPY; the ORM elsewhere)."""

from __future__ import annotations

import datetime as dt

import pytest

from core.bulk import copy_rows
from core.models import SharedResult
from units.models import Jurisdiction


@pytest.mark.django_db
def test_texts_that_look_like_copy_syntax_stay_text():
    at = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)
    texts = [r"\N", "", 'a,"b"', "line\nbreak\ttab", "back\\slash", "NULL"]
    copy_rows(
        SharedResult,
        [
            {"key": f"k{i}", "variant": text, "generation": i, "data": text, "computed_at": at}
            for i, text in enumerate(texts)
        ],
    )
    stored = dict(SharedResult.objects.values_list("generation", "variant"))
    assert [stored[i] for i in range(len(texts))] == texts


@pytest.mark.django_db
def test_none_is_null():
    copy_rows(Jurisdiction, [{"name": r"\N", "level": 1, "code": "", "path": "/1/", "parent_id": None}])
    row = Jurisdiction.objects.get()
    assert (row.name, row.parent_id) == (r"\N", None)
