"""Rule and reader messages in the language of whoever reads them.

The pure modules (`identity`, `rules`, `rosters.reader`) and the services write their messages in
Chinese from module constants with `{name}` placeholders; those constants are also the msgids
of the catalogue (locale/en). A message reaches a page already formatted: a flag is stored
with its text, and a roster is read in a sandboxed child that has no request and no language.
`translate` finds the constant a message was formatted from, and formats the constant's
translation with the same values — so a flag stored months ago in Chinese reads in English for
a liaison who chose English, and the pure modules stay free of Django. A text that matches no
constant (user data, a message from elsewhere) is returned unchanged.
"""

from __future__ import annotations

import re
from functools import cache

from django.utils.translation import get_language, gettext

from . import services
from .donors import identity, rules
from .rosters import reader as roster
from .rosters import services as roster_services

MODULES = (identity, rules, roster, services, roster_services)
# Values that are themselves words of the catalogue (ERROR_MISSING's "姓名"); the rest are
# numbers, dates, cells or user data and are kept as they are.
WORD_PARAMS = {"what"}


@cache
def _patterns() -> list[tuple[str, re.Pattern]]:
    found = []
    for module in MODULES:
        for name, value in vars(module).items():
            if not (isinstance(value, str) and name.isupper() and name.startswith(("ERROR_", "WARN_", "FLAG_"))):
                continue
            parts = re.split(r"\{(\w+)\}", value)
            pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
            found.append((value, re.compile(pattern, re.DOTALL)))
    # The longest constants first: one with fewer placeholders cannot take another's text.
    return sorted(found, key=lambda item: -len(item[0]))


def translate(text) -> str:
    """`text` in the active language when it was formatted from one of the messages' constants."""
    text = str(text)
    language = get_language() or ""
    if language.startswith("zh") or not text:
        return text
    for template, pattern in _patterns():
        match = pattern.fullmatch(text)
        if match:
            values = {
                key: gettext(value) if key in WORD_PARAMS else value.replace("、", ", ") if key == "years" else value
                for key, value in match.groupdict().items()
            }
            return gettext(template).format(**values)
    return text
