"""The admin, scoped: every registered ModelAdmin either limits itself to the user's scope
(`ScopedAdmin`) or is for superusers only (`SuperuserOnlyAdmin`); `tests/test_scope.py` fails
on any registered admin that is neither.

`ScopedAdmin` cuts, by `units.scope.scope_for(request.user)`:

- the list, its filters' choices (`RelatedOnlyFieldListFilter` reads the list's queryset), the
  objects an action receives (Django builds them from `get_queryset`), django-import-export's
  export and import, and the search that autocomplete widgets ask for;
- the object views: another jurisdiction's record is a 404 (change, delete, history, one past
  version), exactly as if it did not exist;
- the choices of every foreign key and many-to-many field whose model is scoped here (a plan's
  jurisdiction, a quota's units, a staff profile's jurisdiction — so nobody grants a profile
  above their own), and the user fields (users that are another office's are not offered);
- saving: an object that would land outside the scope is refused (403), whatever was posted.
"""

from __future__ import annotations

from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from .scope import jurisdiction_of, scope_for


def users_in_scope(queryset, user):
    """Users `user` may pick for a profile or a liaison: not superusers, and neither staff nor
    liaison of another jurisdiction (a user with neither is nobody's yet, and may be picked)."""
    scope = scope_for(user)
    if scope.everything:
        return queryset
    if scope.empty:
        return queryset.none()
    root = scope.root.path
    foreign_profile = Q(staff_profile__isnull=False) & ~Q(staff_profile__jurisdiction__path__startswith=root)
    foreign_liaison = (
        get_user_model()
        .objects.filter(liaison__units__isnull=False)
        .exclude(liaison__units__jurisdiction__path__startswith=root)
    )
    return queryset.filter(is_superuser=False).exclude(foreign_profile).exclude(pk__in=foreign_liaison.values("pk"))


class ScopedChoices:
    """Foreign-key and many-to-many choices limited to the user's scope (also for inlines)."""

    def get_field_queryset(self, db, db_field, request):
        queryset = super().get_field_queryset(db, db_field, request)
        related = db_field.remote_field.model
        if queryset is None:
            queryset = related._default_manager.using(db).all()
        if related is get_user_model():
            return users_in_scope(queryset, request.user)
        related_admin = self.admin_site._registry.get(related)
        if isinstance(related_admin, ScopedAdmin):
            return related_admin.scope_queryset(request, queryset)
        return queryset


class ScopedAdmin(ScopedChoices):
    """A ModelAdmin limited to the user's jurisdiction subtree. Put it first among the bases.

    `scope_to` is the lookup from the model to its jurisdiction ("" when the model is the
    jurisdiction); `scope_many` says it crosses a many-valued relation (a liaison's units).
    """

    scope_to = "jurisdiction"
    scope_many = False

    def scope_queryset(self, request, queryset):
        return scope_for(request.user).filter(queryset, self.scope_to, many=self.scope_many)

    def get_queryset(self, request):
        return self.scope_queryset(request, super().get_queryset(request))

    def in_scope(self, request, obj) -> bool:
        """Whether `obj` (as it stands in memory) lies in the user's scope."""
        scope = scope_for(request.user)
        if scope.everything:
            return True
        if self.scope_many:  # every one of them: a liaison of two offices is changed by neither
            head, _, tail = self.scope_to.partition("__")
            related = list(getattr(obj, head).all()) if obj.pk else []
            return bool(related) and all(scope.allows(jurisdiction_of(r, tail)) for r in related)
        if not self.scope_to:  # a jurisdiction: placed under one in scope (its own root stays put)
            return obj.pk != scope.root.pk and scope.allows(obj.parent) if scope.root else False
        return scope.allows(jurisdiction_of(obj, self.scope_to))

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self.in_scope(request, obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self.in_scope(request, obj))

    def save_form(self, request, form, change):
        obj = super().save_form(request, form, change)
        if not self.scope_many and not self.in_scope(request, obj):
            raise PermissionDenied
        return obj

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if self.scope_many and not self.in_scope(request, form.instance):
            raise PermissionDenied  # rolled back with the request's atomic block

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Another jurisdiction's record does not exist for this user: a 404, not the admin's
        # "may have been deleted" redirect, which would tell it apart from a missing one.
        raise Http404

    def _object_or_404(self, request, object_id):
        if not self.get_queryset(request).filter(pk=unquote(object_id)).exists():
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        if not scope_for(request.user).everything:  # simple_history falls back to a deleted record's past
            self._object_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._object_or_404(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_export_queryset(self, request):
        return self.scope_queryset(request, super().get_export_queryset(request))

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "scope": scope_for(request.user)}


class SuperuserOnlyAdmin:
    """An admin only superusers reach, whatever permissions a group grants (accounts, lockouts)."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


def make_superuser_only(site, *models) -> None:
    """Re-register the admins of `models` (registered by Django and django-axes) for superusers only."""
    for model in models:
        current = site._registry.get(model)
        if current is None or isinstance(current, SuperuserOnlyAdmin):
            continue
        base = type(current)
        site.unregister(model)
        site.register(model, type(base.__name__, (SuperuserOnlyAdmin, base), {"__module__": base.__module__}))
