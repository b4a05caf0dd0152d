"""The leadership dashboard: its figures (`figures`), the kept summaries they are read from
(`kept`), the page's own lookups (`queries`), the page and bulletin views (`views`) and the Excel
export (`exports`)."""
