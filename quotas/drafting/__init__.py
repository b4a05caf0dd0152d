"""Drafting next year's allocation (任务分解): rules → numbers → periods → the notice attachment.

Pure Python, no Django import (tested fast, and fuzzed with hypothesis):

- `allocation` — a number for every line from rules per unit category (headcount × rate, last
  year's task, last year's completed, a fixed number), overrides and a minimum, rounded by
  largest remainder so that the total is exact;
- `balancing` — periods (months or dekads) for every line, so that the cumulative task follows
  the cumulative clinical demand, with a guaranteed bound on the largest gap;
- `periods` — the months and dekads of a year, their printed labels and demand shares;
- `headcounts` — a simple sheet of unit names and headcounts, read from a grid.

Beside them, the Django side: `selectors` (reads, scope, last year's figures), `services`
(writes: create, recompute, adjust, publish), `attachment` (the .xlsx/.docx writer), `views`.
"""
