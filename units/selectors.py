"""Reads over units: matching the names a notice prints to the units and aliases on record."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from .models import Jurisdiction, Unit, UnitAlias
from .naming import normalize_name, similarity

SUGGESTION_THRESHOLD = 0.45
MAX_SUGGESTIONS = 5
# "区人社局及下属单位": the quota is the department's; its subordinate units count toward it.
_SUBORDINATES = re.compile(r"(?:及其?(?:下属|所属|直属)单位|及下属|(?:（|\()含下属单位(?:）|\)))$")


def unit_name_of(printed: str) -> str:
    """The unit a printed name stands for: "区人社局及下属单位" → "区人社局"."""
    return _SUBORDINATES.sub("", printed.strip()).strip() or printed.strip()


@dataclass
class Suggestion:
    unit_id: int
    name: str
    score: float


@dataclass
class NameMatch:
    """What a printed name matched: a unit (by name or alias), a sub-jurisdiction, or nothing."""

    printed: str
    key: str
    unit_id: int | None = None
    unit_name: str = ""
    via_alias: bool = False
    sub_jurisdiction_id: int | None = None
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return self.unit_id is not None or self.sub_jurisdiction_id is not None


class UnitMatcher:
    """Matches names against one jurisdiction's units, aliases and child jurisdictions.

    Loads them once (three queries) and answers every name of a file from memory.
    """

    def __init__(self, jurisdiction: Jurisdiction | None):
        self.by_key: dict[str, tuple[int, str]] = {}
        self.alias_keys: set[str] = set()
        self.children: dict[str, int] = {}
        self.names: dict[int, str] = {}
        self._bigrams: dict[str, set[int]] = defaultdict(set)
        if jurisdiction is None or jurisdiction.pk is None:
            return
        for pk, name, key in Unit.objects.in_subtree(jurisdiction).values_list("pk", "name", "normalized_name"):
            self.add_unit(pk, name, key)
        for key, unit_id, unit_name in UnitAlias.objects.filter(
            jurisdiction__path__startswith=jurisdiction.path
        ).values_list("normalized_name", "unit_id", "unit__name"):
            self.by_key.setdefault(key, (unit_id, unit_name))
            self.alias_keys.add(key)
        for pk, name in Jurisdiction.objects.filter(parent=jurisdiction).values_list("pk", "name"):
            self.children[normalize_name(name)] = pk

    def add_unit(self, pk: int, name: str, key: str | None = None) -> None:
        key = key or normalize_name(name)
        self.by_key[key] = (pk, name)
        self.names[pk] = name
        for i in range(max(len(key) - 1, 1)):
            self._bigrams[key[i : i + 2]].add(pk)

    def match(self, printed: str) -> NameMatch:
        key = normalize_name(unit_name_of(printed))
        result = NameMatch(printed=printed, key=key)
        if key in self.by_key:
            result.unit_id, result.unit_name = self.by_key[key]
            result.via_alias = key in self.alias_keys
            return result
        if key in self.children:
            result.sub_jurisdiction_id = self.children[key]
            return result
        result.suggestions = self.suggest(key)
        return result

    def suggest(self, key: str) -> list[Suggestion]:
        """Units with similar names, best first: candidates share a two-character piece."""
        candidates: set[int] = set()
        for i in range(max(len(key) - 1, 1)):
            candidates |= self._bigrams.get(key[i : i + 2], set())
        scored = []
        for pk in candidates:
            name = self.names[pk]
            score = similarity(key, normalize_name(name))
            if score >= SUGGESTION_THRESHOLD:
                scored.append(Suggestion(pk, name, score))
        scored.sort(key=lambda s: (-s.score, s.name))
        return scored[:MAX_SUGGESTIONS]
