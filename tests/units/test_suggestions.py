"""Suggestions for unknown unit names: an index of name pieces, bounded work per name, computed
at the preview only."""

from __future__ import annotations

import pytest

from quotas.services import plan_import, preview_import
from tests.quotas.workbooks import xlsx
from units.naming import NameProfile, similarity
from units.selectors import CANDIDATES, SUGGESTION_THRESHOLD, UnitMatcher
from units.services import units_create_bulk

pytestmark = pytest.mark.django_db
WORDS = ["机械", "电子", "纺织", "化工", "建材", "物流", "商贸", "食品", "医药", "印刷"]


def _name(i: int) -> str:
    return f"扬州市{WORDS[i % 10]}{WORDS[i // 10 % 10]}测试{i:05d}有限公司"


@pytest.fixture
def many_units(jurisdiction):
    units = units_create_bulk(names=[_name(i) for i in range(3000)], jurisdiction=jurisdiction)
    return {unit.name: unit for unit in units}


def test_the_profile_scores_as_similarity_does():
    for a, b in [
        ("建设银行", "市建设银行"),
        ("建行", "市建设银行"),
        ("区人社局", "区人社局"),
        ("甲", "乙"),
        ("", "甲"),
    ]:
        assert NameProfile.of(a).similarity(NameProfile.of(b)) == similarity(a, b)


def test_among_thousands_of_similar_units_the_intended_one_comes_first(jurisdiction, many_units, monkeypatch):
    matcher = UnitMatcher(jurisdiction)
    scored = []
    original = NameProfile.similarity
    monkeypatch.setattr(NameProfile, "similarity", lambda self, other: scored.append(1) or original(self, other))
    for i in (7, 1234, 2999):
        match = matcher.match(_name(i).replace("有限公司", "分公司"))
        assert match.suggestions[0].unit_id == many_units[_name(i)].pk
    assert len(scored) <= 3 * CANDIDATES  # not 3 × 3,000: the index bounds the work per name


def test_few_units_are_all_scored_as_before(jurisdiction):
    names = ["中国建设银行仪征支行", "建设银行仪征分行", "仪征市建设局", "仪化公司", "市建设银行"]
    units = units_create_bulk(names=names, jurisdiction=jurisdiction)
    every = sorted(
        ((similarity("建设银行", u.normalized_name), u.name, u.pk) for u in units), key=lambda t: (-t[0], t[1])
    )
    expected = [pk for score, _, pk in every if score >= SUGGESTION_THRESHOLD]
    suggestions = UnitMatcher(jurisdiction).match("建设银行").suggestions
    assert [s.unit_id for s in suggestions] == expected and len(expected) >= 2


def test_suggestions_are_computed_at_the_preview_not_again_when_applying(jurisdiction, monkeypatch):
    data = xlsx([["单位", "目标数"], ["新单位甲", 5], ["新单位乙", 6]])
    calls = []
    original = UnitMatcher.suggest
    monkeypatch.setattr(UnitMatcher, "suggest", lambda self, key: calls.append(key) or original(self, key))
    preview_import(data=data, filename="n.xlsx", jurisdiction=jurisdiction, year=2026)
    assert len(calls) == 2
    calls.clear()
    report = plan_import(data=data, filename="n.xlsx", jurisdiction=jurisdiction, year=2026)
    assert report.applied and calls == []
