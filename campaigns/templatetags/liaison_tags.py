"""`rule_text`: a rule or reader message (or a stored flag's text) in the reader's language."""

from django import template

from campaigns.messages import translate

register = template.Library()


@register.filter
def rule_text(message) -> str:
    return translate(message)
