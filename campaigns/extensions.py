"""Hooks a higher layer fills in, so campaigns' pages can show what only it knows.

campaigns never imports the stations app (tests/test_layers.py). The liaison's donor lists ask
`donation_marks(donations)` for what else is known about each donation; stations registers its
reader (`stations.selectors.station_marks`: 血站核实, 未见采血记录) in its AppConfig.ready().
Without the stations app installed, the lists simply show no marks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class DonationMark:
    """A mark shown on a donation: `kind` ("verified" or "unseen"), its label, and the reason
    written out (empty for a plain confirmation)."""

    kind: str
    label: str
    reason: str


MarkReader = Callable[[list], dict[int, DonationMark]]
_readers: list[MarkReader] = []


def register_donation_marks(reader: MarkReader) -> None:
    """Called once per reader, from the registering app's ready(); registering twice is a no-op."""
    if reader not in _readers:
        _readers.append(reader)


def donation_marks(donations: Iterable) -> dict[int, list[DonationMark]]:
    """{donation id: its marks} from every registered reader, for one page of donations."""
    donations = list(donations)
    found: dict[int, list[DonationMark]] = {}
    for reader in _readers:
        for pk, mark in reader(donations).items():
            found.setdefault(pk, []).append(mark)
    return found


def attach_marks(donations) -> list:
    """The donations, each with `marks` (a list, maybe empty), for the templates."""
    donations = list(donations)
    marks = donation_marks(donations)
    for donation in donations:
        donation.marks = marks.get(donation.pk, [])
    return donations
