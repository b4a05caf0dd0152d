"""Text normalisation for unit names and table cells, shared by the notice reader and matching.

Pure Python, no Django import: the notice reader and its tests use it without a database.
"""

from __future__ import annotations

import re
import unicodedata
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


def similarity(a: str, b: str) -> float:
    """A 0..1 score of how alike two normalised names are, for ranking suggestions.

    Combines containment (建行 inside 市建设银行 scores low, 建设银行 inside 市建设银行 high),
    shared characters (Dice coefficient on characters) and shared bigrams.
    """
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    chars_a, chars_b = set(a), set(b)
    dice = 2 * len(chars_a & chars_b) / (len(chars_a) + len(chars_b))
    bi_a = {a[i : i + 2] for i in range(len(a) - 1)} or {a}
    bi_b = {b[i : i + 2] for i in range(len(b) - 1)} or {b}
    bigram = 2 * len(bi_a & bi_b) / (len(bi_a) + len(bi_b))
    contain = min(len(a), len(b)) / max(len(a), len(b)) if (a in b or b in a) else 0.0
    return round(max(contain, 0.5 * dice + 0.5 * bigram), 4)
