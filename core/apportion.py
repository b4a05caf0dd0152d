"""Whole numbers in proportion to weights that add up to a total exactly (Hamilton's method).

One home for the rounding both the counting core (a pool's blood units split over its quotas, in
tenths) and the allocation drafts (persons over units) use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction


def largest_remainder(weights: Sequence[Fraction | int], total: int) -> list[int]:
    """Integers proportional to `weights` adding up to `total` exactly (Hamilton's method).

    Each gets ⌊share⌋, the rest go one each to the largest fractional parts; ties go to the
    larger weight, then to the earlier line. All weights zero: an even split.
    """
    if total < 0:
        raise ValueError("total cannot be negative")
    n = len(weights)
    if n == 0:
        if total:
            raise ValueError("nothing to share a non-zero total among")
        return []
    if all(type(w) is int for w in weights):  # the counting core's persons: no Fractions needed
        integers = list(weights)
    else:
        # In integers over a common denominator: exact, and far faster than Fractions for thousands.
        fractions = [Fraction(w) for w in weights]
        denominator = math.lcm(*(w.denominator for w in fractions))
        integers = [w.numerator * (denominator // w.denominator) for w in fractions]
    if any(w < 0 for w in integers):
        raise ValueError("weights cannot be negative")
    whole = sum(integers)
    if whole == 0:
        integers, whole = [1] * n, n
    floors, remainders = [], []
    for w in integers:
        quotient, remainder = divmod(total * w, whole)
        floors.append(quotient)
        remainders.append(remainder)
    left = total - sum(floors)
    order = sorted(range(n), key=lambda i: (-remainders[i], -integers[i], i))
    for i in order[:left]:
        floors[i] += 1
    return floors
