"""The counting rules of DOMAIN.md, in one place, in plain Python (no Django import).

Every figure the portal shows — the liaison's quota cards, the dashboard's headline, lines, unit
table and lists (computed afresh or kept between views), the Excel export and the bulletins — is
computed here from rows the database fetched and summed. Nothing else implements a rule; the SQL
only reads rows and adds them up.

The contract:

Quotas (`quotas.py`)
  1. A donation counts in its **plan year** only (its date's year is the plan's year), whatever
     the quota's period: a donation before the period still counts. Rejected donations never
     count (the tally the rows come from leaves them out).
  2. **Credit.** A donation counts for the quotas of the unit that logged it. A unit with no quota
     of its own in a plan (a 下属单位) counts for its parent unit's (主管部门) quotas in that plan;
     one level up, no further. A unit that has a quota of its own in the plan — alone or as a
     member of a group — counts only for its own quotas there. Each plan is counted on its own:
     a unit with quotas in a city's plan and a county's plan counts in both.
  3. **Pools.** Quotas of one plan with exactly the same member units draw on the same donations
     (a group quota is met jointly by its members; 仪化公司 150 in June, 150 in July, 100 in
     August is one pool of three). A pool's quotas are filled in due-date order (then by id):
     the earliest takes donations up to its target, the next the following ones…; whatever is
     left after every target is shown on the last quota.
  4. **On time.** Donations fill a pool's quotas in date order, so a quota's on-time count is how
     many of the donations it took were made on or before its due date: with `before` the
     targets of the pool's earlier quotas and `by_due` the pool's donations up to its due date,
     `clamp(by_due - before, 0, target)`.
  5. **Advisory** quotas (a number printed in parentheses) are shown with their pool's donations
     but take none from the pool's other quotas, and are never summed into a task, a count or
     an on-time figure. Quotas allocated to a sub-jurisdiction count no donations here: their
     figures are the sub-jurisdiction's own plan's.
  6. **Blood units** (U) are not a per-quota figure: a pool's blood units are split over its
     counted quotas in proportion to the persons each took (to 0.1 U; the last takes the
     remainder), so a column of quotas adds up to the pool's blood units.
  7. **Status** of a unit quota on a day: done when its completed reaches the target; else
     overdue after its due date; else not started before its period; else on track while the
     completed keeps up with PACE (80 %) of a straight line from the period's start to its due
     date, behind otherwise. `next_status_change` gives the first later day on which the
     status can differ with the same donations.

Plans (`plans.py`)
  8. A plan's summary — targets by due month, allocations to sub-jurisdictions, its counted unit
     quotas' on-time total, status counts and lists (overdue, largest shortfalls, due this
     month, each in a total order: larger shortfall, earlier due date, lower id) — depends on
     that plan alone, so kept summaries equal fresh ones whichever plans were stale together.

Jurisdictions (`jurisdictions.py`)
  9. **Task** of a jurisdiction: the non-advisory targets of its own published plan (quotas to
     units and to sub-jurisdictions); without a plan, the sum of the tasks of the topmost plans
     below it. **Completed**: every counted donation of the year by a unit located in its
     subtree. Its on-time figure and status counts add up the plans in its subtree.
 10. **Status** of a jurisdiction: no plan → "无计划" (no colour, never "done"); a task of 0 →
     "无任务"; done when completed reaches the task; overdue after the year; not started before
     the year; else on track while completed keeps up with the targets whose due month has
     ended, behind otherwise.
 11. A drill-down line is the child's own page: the same function computes both.
"""

from .jurisdictions import JurisdictionTree, Line, roll_up
from .plans import LIST_LENGTH, THIS_MONTH_LENGTH, merge_lists, summarise_plan
from .quotas import (
    BEHIND,
    DONE,
    NO_PLAN,
    NO_TASK,
    NOT_STARTED,
    ON_TRACK,
    OVERDUE,
    PACE,
    QUOTA_STATUSES,
    DonorSums,
    QuotaFigures,
    QuotaTerms,
    count_quotas,
    next_status_change,
    quota_status,
    quota_totals,
)

__all__ = [
    "BEHIND",
    "DONE",
    "LIST_LENGTH",
    "NOT_STARTED",
    "NO_PLAN",
    "NO_TASK",
    "ON_TRACK",
    "OVERDUE",
    "PACE",
    "QUOTA_STATUSES",
    "THIS_MONTH_LENGTH",
    "DonorSums",
    "JurisdictionTree",
    "Line",
    "QuotaFigures",
    "QuotaTerms",
    "count_quotas",
    "merge_lists",
    "next_status_change",
    "quota_status",
    "quota_totals",
    "roll_up",
    "summarise_plan",
]
