"""Simplified Chinese formats as Django ships them, with one change: numbers grouped in
thousands with a comma (12,611), as statistical tables print them. Django's own zh_Hans has no
separator and groups of four, which left counts ungrouped ("9478") beside grouped blood units
("10,965.5") on the same page."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
