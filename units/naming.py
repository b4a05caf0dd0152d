"""Text normalisation for unit names and table cells, shared by the notice reader and matching.

Pure Python, no Django import: the notice reader and its tests use it without a database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_WS = re.compile(r"\s+")
# Brackets and separators that offices type in either width.
_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "[", "】": "]", "〔": "[", "〕": "]", "［": "[", "］": "]"})
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


_HALFWIDTH = {0x3000: " ", **{code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}}


def to_halfwidth(text: str) -> str:
    """Fold full-width ASCII forms (０-９, Ａ-Ｚ, full-width space) to their half-width forms."""
    return text.translate(_HALFWIDTH)


def clean_text(value: object) -> str:
    """A cell as text: None becomes "", NFKC-free strip of ordinary and full-width white space."""
    if value is None:
        return ""
    text = str(value)
    return text.replace("\u3000", " ").replace("\xa0", " ").strip()


# Full-width letters and digits (Ａ-Ｚ, ａ-ｚ, ０-９) and the ideographic space fold to half-width;
# parentheses of either width become the full-width pair Chinese names are written with.
_NAME_FOLD = {
    0x3000: " ",
    0xA0: " ",
    **{code: chr(code - 0xFEE0) for code in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))},
    ord("("): "（",
    ord(")"): "）",
}
# Characters around which the print's alignment spaces and line breaks are dropped: CJK
# ideographs, CJK punctuation and full-width forms (brackets, 、；：).
_WIDE = r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
_GAP_BETWEEN_WIDE = re.compile(rf"(?<={_WIDE})\s+(?={_WIDE})")
_GAP_NEXT_TO_WIDE = re.compile(rf"(?<={_WIDE})\n\s*|\s*\n(?={_WIDE})")


def clean_name(printed: str) -> str:
    """A unit's name as it is stored and shown: the name as printed without the print's layout.

    Spaces that aligned the characters ("人  武  部", "邮 政") and line breaks inside a cell
    ("镇机关\n(含便民中心)") are removed between Chinese characters; other white space becomes
    one space ("94987 部队" keeps it). Full-width letters, digits and spaces become half-width,
    parentheses of either width the full-width pair: "教育局(含直属学校)" → "教育局（含直属学校）".
    `normalize_name(clean_name(x)) == normalize_name(x)`: cleaning never changes what a name matches.
    """
    text = unicodedata.normalize("NFC", printed or "").translate(_NAME_FOLD)
    text = _GAP_NEXT_TO_WIDE.sub("", text)
    text = _GAP_BETWEEN_WIDE.sub("", text)
    return _WS.sub(" ", text).strip()


@lru_cache(maxsize=65536)
def normalize_name(name: str) -> str:
    """The form two names are compared in: no white space, half-width, ASCII brackets, lower case.

    "区 委 办" == "区委办", "远东联石化（扬州）有限公司" == "远东联石化(扬州)有限公司".
    """
    text = to_halfwidth(unicodedata.normalize("NFC", name or "")).translate(_BRACKETS)
    return _WS.sub("", text).lower()


def cjk_count(text: str) -> int:
    """How many CJK ideographs the text holds."""
    return len(_CJK.findall(text))


def pieces_of(name: str) -> frozenset[str]:
    """The two-character pieces of a name (the name itself when shorter), for matching."""
    return frozenset(name[i : i + 2] for i in range(len(name) - 1)) or frozenset({name})


@dataclass(frozen=True)
class NameProfile:
    """A normalised name with its characters and pieces, computed once for many comparisons."""

    name: str
    chars: frozenset[str]
    pieces: frozenset[str]
    trigrams: frozenset[str]  # three-character pieces, only to find candidates quickly

    @classmethod
    def of(cls, name: str) -> NameProfile:
        trigrams = frozenset(name[i : i + 3] for i in range(len(name) - 2))
        return cls(name, frozenset(name), pieces_of(name), trigrams)

    def similarity(self, other: NameProfile) -> float:
        """`similarity(self.name, other.name)` without recomputing either name's sets."""
        a, b = self.name, other.name
        if not a or not b:
            return 0.0
        if a == b:
            return 1.0
        dice = 2 * len(self.chars & other.chars) / (len(self.chars) + len(other.chars))
        bigram = 2 * len(self.pieces & other.pieces) / (len(self.pieces) + len(other.pieces))
        contain = min(len(a), len(b)) / max(len(a), len(b)) if (a in b or b in a) else 0.0
        return round(max(contain, 0.5 * dice + 0.5 * bigram), 4)


def similarity(a: str, b: str) -> float:
    """A 0..1 score of how alike two normalised names are, for ranking suggestions.

    Combines containment (建行 inside 市建设银行 scores low, 建设银行 inside 市建设银行 high),
    shared characters (Dice coefficient on characters) and shared bigrams.
    """
    return NameProfile.of(a).similarity(NameProfile.of(b))
