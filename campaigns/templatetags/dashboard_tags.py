"""Formatting for the dashboard's figures."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(rate) -> str:
    """0.8571 -> "85.7%"; no task -> "—"."""
    if rate is None or rate == "":
        return "—"
    return f"{float(rate) * 100:.1f}%"


@register.filter
def signed(value) -> str:
    """A change with its sign: +12, -3, 0."""
    if value is None:
        return "—"
    number = float(value)
    text = f"{number:+.1f}" if number != int(number) else f"{int(number):+d}"
    return text if number else "0"
