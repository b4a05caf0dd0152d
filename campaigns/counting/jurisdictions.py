"""A jurisdiction's figures (rules 9–11): task, completed, status, and its drill-down lines.

`roll_up` takes the subtree's jurisdictions (ids and materialised paths), its published plans
with their summaries (`plans.summarise_plan`), and each jurisdiction's counted donations by month,
and adds them up in one pass over jurisdictions and one over plans: the page's headline, one line
per child jurisdiction (equal to that child's own page), and the page's own units' line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from .quotas import BEHIND, DONE, NO_PLAN, NO_TASK, NOT_STARTED, ON_TRACK, OVERDUE, QUOTA_STATUSES


def targets_due_by(monthly_due: list[int], *, year: int, today: dt.date) -> int:
    """The targets of the months that have ended before `today` (a month is due once it is over)."""
    if today.year != year:
        return sum(monthly_due) if today.year > year else 0
    return sum(monthly_due[: today.month - 1])


def jurisdiction_status(
    *, task: int, completed: int, due_by_today: int, has_plan: bool, year: int, today: dt.date
) -> str:
    """Rule 10: no plan, no task, done, overdue after the year, else on track or behind what is due."""
    if not has_plan:
        return NO_PLAN
    if not task:
        return NO_TASK
    if completed >= task:
        return DONE
    if today > dt.date(year, 12, 31):
        return OVERDUE
    if today < dt.date(year, 1, 1):
        return NOT_STARTED
    if not due_by_today:
        return ON_TRACK if completed else NOT_STARTED
    return ON_TRACK if completed >= due_by_today else BEHIND


@dataclass
class Line:
    """The figures of a jurisdiction (or of the page's own units): what a page's headline shows."""

    monthly_due: list[int] = field(default_factory=lambda: [0] * 12)
    monthly_done: list[int] = field(default_factory=lambda: [0] * 12)
    blood_units: Decimal = Decimal(0)
    on_time: int = 0
    status_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(QUOTA_STATUSES, 0))
    plans: int = 0  # plans that make its task
    status: str = ""

    @property
    def task(self) -> int:
        return sum(self.monthly_due)

    @property
    def completed(self) -> int:
        return sum(self.monthly_done)

    @property
    def rate(self) -> float | None:
        return round(self.completed / self.task, 4) if self.task else None

    @property
    def shortfall(self) -> int:
        return max(self.task - self.completed, 0)

    def add_done(self, months: list[int], blood_units: Decimal) -> None:
        for i, n in enumerate(months):
            self.monthly_done[i] += n
        self.blood_units += blood_units

    def add_due(self, months: list[int]) -> None:
        for i, n in enumerate(months):
            self.monthly_due[i] += n
        self.plans += 1

    def add_quotas(self, summary: dict) -> None:
        self.on_time += summary["on_time"]
        for status, n in summary["counts"].items():
            self.status_counts[status] += n

    def add(self, other: Line) -> None:
        """Everything but the task: donations, on-time and status counts."""
        self.add_done(other.monthly_done, other.blood_units)
        self.on_time += other.on_time
        for status, n in other.status_counts.items():
            self.status_counts[status] += n

    def settle(self, *, year: int, today: dt.date) -> Line:
        """Fix its status for `today`; on time never above completed."""
        self.on_time = min(self.on_time, self.completed)
        self.status = jurisdiction_status(
            task=self.task,
            completed=self.completed,
            due_by_today=targets_due_by(self.monthly_due, year=year, today=today),
            has_plan=bool(self.plans),
            year=year,
            today=today,
        )
        return self


@dataclass
class JurisdictionTree:
    """The subtree a page shows: every jurisdiction's materialised path ("/1/7/42/") by id."""

    root_path: str  # "/" for everything
    paths: dict[int, str]

    @property
    def depth(self) -> int:
        """Segments in the root's path: a child's path has one more."""
        return self.root_path.count("/") - 1

    def chain(self, jurisdiction_id: int) -> list[int]:
        return [int(seg) for seg in self.paths[jurisdiction_id].strip("/").split("/")]

    def children(self) -> list[int]:
        """The root's children, in path order."""
        depth = self.depth
        return [pk for pk, path in sorted(self.paths.items(), key=lambda kv: kv[1]) if path.count("/") - 1 == depth + 1]


@dataclass
class RollUp:
    headline: Line
    children: dict[int, Line]  # child jurisdiction id → its line (its own page's headline)
    own: Line  # the page's own units and its own plan's unit quotas
    allocated: dict[int, int]  # what the page's own plan allocates to each child


def roll_up(
    *,
    tree: JurisdictionTree,
    plans: dict[int, int],
    summaries: dict[int, dict],
    months: dict[int, tuple[list[int], Decimal]],
    own_plan: int | None,
    year: int,
    today: dt.date,
) -> RollUp:
    """Rules 9–11 over a subtree: `plans` maps each published plan in it to its jurisdiction,
    `summaries` each plan to its summary, `months` each jurisdiction to its own units' counted
    donations per month and their blood units."""
    depth = tree.depth
    chains = {pk: tree.chain(pk) for pk in tree.paths}
    planned = set(plans.values())
    lines: dict[int, Line] = {pk: Line() for pk in tree.children()}
    own = Line()

    def line_of(chain: list[int]) -> Line:
        """The drill-down line a jurisdiction on this path belongs to; the page's own otherwise."""
        return lines[chain[depth]] if len(chain) > depth else own

    for pk, (done, blood_units) in months.items():
        if pk in chains:
            line_of(chains[pk]).add_done(done, blood_units)

    headline_due = Line()
    for plan_id, summary in summaries.items():
        chain = chains[plans[plan_id]]
        line_of(chain).add_quotas(summary)
        # A plan makes the task of the jurisdiction n segments deep (the page's, or a line's)
        # when no jurisdiction between that one and the plan's has a plan of its own: when the
        # deepest planning ancestor of the plan's jurisdiction lies above n.
        deepest_planning_above = max((i for i, a in enumerate(chain[:-1], start=1) if a in planned), default=0)
        if deepest_planning_above < max(depth, 1):
            headline_due.add_due(summary["due"])
        if len(chain) > depth and deepest_planning_above < depth + 1:
            line_of(chain).add_due(summary["due"])
    if own_plan is not None:
        own.add_due(summaries[own_plan]["unit_due"])

    headline = Line(monthly_due=headline_due.monthly_due, plans=headline_due.plans)
    for line in (*lines.values(), own):
        headline.add(line)
    for line in (headline, own, *lines.values()):
        line.settle(year=year, today=today)
    allocated = dict(map(tuple, summaries[own_plan]["allocated"])) if own_plan is not None else {}
    return RollUp(headline=headline, children=lines, own=own, allocated=allocated)
