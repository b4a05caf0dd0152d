"""A list filter for a foreign key with too many values to list as links (the units of a donation
list): one searchable box, the admin's autocomplete, instead of a link per value.

Closed by default, as every admin choice is (`units.admin_scope`): the related model's admin must
be a `ScopedAdmin`; the box searches through the admin's autocomplete view, which asks that
admin's scoped queryset, and the one value shown as chosen is read through the same scope (a unit
of another office typed into the address bar is neither named nor found: the list is empty).
The filter costs no query unless a value is chosen (then one, for its name).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .admin_scope import ScopedAdmin


def autocomplete_filter_media(model, field_name: str, admin_site) -> forms.Media:
    """The scripts and styles the filter's box needs on the list page."""
    widget = AutocompleteSelect(model._meta.get_field(field_name), admin_site)
    return widget.media + forms.Media(js=["js/admin-filter.js"])


class ScopedAutocompleteFilter(admin.ListFilter):
    """Filter by one value of `field_name` (a foreign key), chosen in a searchable box.

    The query string is the one Django's own related filter writes (`unit__id__exact=7`), so
    links to a filtered list keep working.
    """

    field_name: str = ""
    title = _("单位")
    template = "admin/autocomplete_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.field = model._meta.get_field(self.field_name)
        self.model_admin = model_admin
        self.parameter_name = f"{self.field_name}__{self.field.target_field.attname}__exact"
        if self.parameter_name in params:
            self.used_parameters[self.parameter_name] = params.pop(self.parameter_name)[-1]

    def value(self) -> int | None:
        """The chosen key, or None (a value no box offers — not a number, or beyond any key — is no choice)."""
        raw = self.used_parameters.get(self.parameter_name) or ""
        return int(raw) if raw.isascii() and raw.isdigit() and int(raw) < 2**63 else None

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return [self.parameter_name]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(**{self.field_name: value}) if value is not None else queryset

    def _options(self):
        related = self.field.remote_field.model
        related_admin = self.model_admin.admin_site._registry.get(related)
        if not isinstance(related_admin, ScopedAdmin):
            raise ImproperlyConfigured(f"{type(self).__name__}: {related.__name__}'s admin is not scoped")
        return related_admin.scope_queryset(self.request, related._default_manager.all())

    def choices(self, changelist):
        value = self.value()
        field = forms.ModelChoiceField(
            self._options(),
            required=False,
            widget=AutocompleteSelect(
                self.field,
                self.model_admin.admin_site,
                attrs={"data-width": "100%", "aria-label": self.title},
            ),
        )
        box_id = f"filter-{self.field_name}"
        yield {
            "widget": field.widget.render(self.parameter_name, value, attrs={"id": box_id}),
            "id": box_id,
            "selected": value is not None,
            # The list's other filters, search and sort ride along; the page number does not.
            "hidden": [
                (key, item)
                for key, items in self.request.GET.lists()
                if key not in (self.parameter_name, "p")
                for item in items
            ],
            "clear": changelist.get_query_string(remove=[self.parameter_name]),
        }


class UnitFilter(ScopedAutocompleteFilter):
    field_name = "unit"
    title = _("单位")
