"""Reads over units: matching the names a notice prints to the units and aliases on record."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .models import Jurisdiction, Unit, UnitAlias
from .naming import NameProfile, clean_name, normalize_name

SUGGESTION_THRESHOLD = 0.45
MAX_SUGGESTIONS = 5
# Suggestions search an index of the units' three- and two-character pieces instead of
# comparing every name with every unit (quadratic: issue 19). A name's rarest pieces are looked
# up first — three-character ones, then two-character ones while fewer than CANDIDATES units
# have turned up — until POSTINGS_BUDGET index entries have been read; the CANDIDATES units
# sharing the most pieces are scored in full. The work per name is bounded whatever the number
# of units (docs/performance.md, bench_suggest).
POSTINGS_BUDGET = 600
CANDIDATES = 15
# "区人社局及下属单位": the quota is the department's; its subordinate units count toward it.
_SUBORDINATES = re.compile(r"(?:及其?(?:下属|所属|直属)单位|及下属|(?:（|\()含下属单位(?:）|\)))$")


# A printed name that reads as a jurisdiction: 慈利县, 如皋市, 城北街道, 经济开发区. Longest suffix
# first; names that end like one but are not (超市, 社区, 校区) are left out.
_JURISDICTION_NAME = re.compile(
    r"^[\u4e00-\u9fff]{1,10}?(?P<suffix>自治县|县级市|开发区|管理区|街道办事处|街道|园区|新区|县|区|市|旗|镇|乡)$"
)
_NOT_JURISDICTIONS = ("超市", "门市", "社区", "小区", "校区", "院区", "景区", "片区", "营业区", "城区", "辖区", "市区")
_TOWN_SUFFIXES = {"开发区", "管理区", "街道办事处", "街道", "园区", "镇", "乡"}


def jurisdiction_level_of(name: str) -> int | None:
    """The level a printed name reads as (慈利县 → county, 城北街道 → town), or None."""
    key = normalize_name(name)
    match = _JURISDICTION_NAME.match(key)
    if match is None or key.endswith(_NOT_JURISDICTIONS):
        return None
    return Jurisdiction.Level.TOWN if match["suffix"] in _TOWN_SUFFIXES else Jurisdiction.Level.COUNTY


def child_level(parent: Jurisdiction, name: str) -> int:
    """The level of a new jurisdiction named `name` under `parent`: what the name reads as,
    at least one below the parent, at most a town."""
    return min(max(jurisdiction_level_of(name) or 0, parent.level + 1), Jurisdiction.Level.TOWN)


def unit_name_of(printed: str) -> str:
    """The unit a printed name stands for: "区人社局及下属单位" → "区人社局"."""
    return _SUBORDINATES.sub("", printed.strip()).strip() or printed.strip()


# A note in brackets after a jurisdiction's name says what the figure covers ("永定区（含城区）",
# "慈利县(不含工业园)"); it is no part of the jurisdiction's name.
_TRAILING_NOTE = re.compile(r"\s*[（(][^（）()]*[）)]$")


def jurisdiction_name_of(printed: str) -> str:
    """The jurisdiction a printed name stands for, as stored: "永定区（含城区）" → "永定区"."""
    name = unit_name_of(printed)
    return clean_name(_TRAILING_NOTE.sub("", name).strip() or name)


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
    # Unmatched and read as a jurisdiction below the importing one: offered as a sub-jurisdiction
    # (a quota allocated to it, Quota.sub_jurisdiction), preselected for a city's counties.
    jurisdiction_level: int | None = None
    prefer_jurisdiction: bool = False
    # The name a sub-jurisdiction created for it gets (the printed name without a bracketed note),
    # and the existing child of that name, preselected when the printed name adds a note to it.
    jurisdiction_name: str = ""
    suggested_child: int | None = None

    @property
    def matched(self) -> bool:
        return self.unit_id is not None or self.sub_jurisdiction_id is not None


class UnitMatcher:
    """Matches names against one jurisdiction's units, aliases and child jurisdictions.

    Loads them once (three queries) and answers every name of a file from memory; suggestions
    for unknown names come from an index of the units' two-character pieces (see `suggest`).
    """

    def __init__(self, jurisdiction: Jurisdiction | None):
        self.by_key: dict[str, tuple[int, str]] = {}
        self.alias_keys: set[str] = set()
        self.children: dict[str, int] = {}
        self.child_names: dict[int, str] = {}
        self.level: int | None = None
        self.names: dict[int, str] = {}
        self._profiles: dict[int, NameProfile] = {}
        self._postings: dict[str, list[int]] = defaultdict(list)
        self._suggested: dict[str, list[Suggestion]] = {}
        self.level = jurisdiction.level if jurisdiction is not None else None
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
            self.child_names[pk] = name

    def add_unit(self, pk: int, name: str, key: str | None = None) -> None:
        key = key or normalize_name(name)
        self.by_key[key] = (pk, name)
        if pk in self.names:
            return
        self.names[pk] = name
        profile = NameProfile.of(normalize_name(name))
        self._profiles[pk] = profile
        for piece in profile.pieces | profile.trigrams:
            self._postings[piece].append(pk)
        self._suggested.clear()

    def match(self, printed: str, *, suggest: bool = True) -> NameMatch:
        key = normalize_name(unit_name_of(printed))
        result = NameMatch(printed=printed, key=key)
        if key in self.by_key:
            result.unit_id, result.unit_name = self.by_key[key]
            result.via_alias = key in self.alias_keys
            return result
        if key in self.children:
            result.sub_jurisdiction_id = self.children[key]
            return result
        name = jurisdiction_name_of(printed)
        child = self.children.get(normalize_name(name))
        level = jurisdiction_level_of(name)
        if child is not None:  # "永定区（含城区）" and the child 永定区: offered, preselected
            result.jurisdiction_name, result.suggested_child = name, child
            result.jurisdiction_level = max(level or 0, (self.level or 0) + 1)
            result.prefer_jurisdiction = True
        elif level is not None and self.level is not None and level > self.level:
            result.jurisdiction_name = name
            result.jurisdiction_level = level
            result.prefer_jurisdiction = level == Jurisdiction.Level.COUNTY
        if suggest:
            result.suggestions = self.suggest(key)
        return result

    def suggest(self, key: str) -> list[Suggestion]:
        """Units with similar names, best first (score `naming.similarity`, at least the threshold).

        Candidates share a piece with the name, found rarest piece first within POSTINGS_BUDGET
        index entries; at most CANDIDATES of them, those sharing the most pieces, are scored.
        """
        if key in self._suggested:
            return self._suggested[key]
        profile = NameProfile.of(key)
        postings = self._postings
        shared: Counter[int] = Counter()
        read = 0
        for kind in (profile.trigrams, profile.pieces):
            if len(shared) >= CANDIDATES:
                break
            known = [piece for piece in kind if piece in postings]
            for piece in sorted(known, key=lambda p: len(postings[p])):
                posting = postings[piece]
                if read and read + len(posting) > POSTINGS_BUDGET:
                    break
                shared.update(posting)
                read += len(posting)
        # most_common keeps, among equal counts, the units met first: deterministic.
        candidates = [pk for pk, _ in shared.most_common(CANDIDATES)]
        scored = []
        for pk in candidates:
            score = profile.similarity(self._profiles[pk])
            if score >= SUGGESTION_THRESHOLD:
                scored.append(Suggestion(pk, self.names[pk], score))
        scored.sort(key=lambda s: (-s.score, s.name))
        self._suggested[key] = scored[:MAX_SUGGESTIONS]
        return self._suggested[key]
