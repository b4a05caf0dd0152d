"""Who may see what: the one home of a user's scope, closed by default.

A staff or leadership user sees the subtree of their staff profile's jurisdiction
(`StaffProfile.jurisdiction`, a prefix of the materialised `Jurisdiction.path`); a superuser
sees everything; anyone else — a staff account nobody gave a jurisdiction, a liaison, an
anonymous visitor — sees no jurisdiction at all. National staff get the root jurisdiction
explicitly. Liaisons are not widened by this: their pages start from their own units
(`Unit.objects.for_user`, `units.roles.liaison_units`).

Every admin queryset, choice, action and export (`units.admin_scope.ScopedAdmin`), the
dashboard and its exports, the bulletins, the notice import and drafting ask `scope_for(user)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from .models import Jurisdiction, StaffProfile

# The staff profile's jurisdiction in plain SQL: asked on every dashboard view, and the ORM's
# query building cost more than the query (docs/performance.md, "The page's own lookups in SQL").
_STAFF_JURISDICTION_SQL = (
    f"SELECT j.* FROM {StaffProfile._meta.db_table} s "  # noqa: S608 - names from the models
    f"JOIN {Jurisdiction._meta.db_table} j ON j.id = s.jurisdiction_id WHERE s.user_id = %s"
)


@dataclass(frozen=True)
class Scope:
    """The jurisdictions a user may see: a subtree (`root`), everything, or nothing."""

    root: Jurisdiction | None = None
    everything: bool = False

    @property
    def empty(self) -> bool:
        return self.root is None and not self.everything

    def allows(self, jurisdiction: Jurisdiction | None) -> bool:
        """Whether `jurisdiction` lies in the scope (None, "every jurisdiction", only for everything)."""
        if self.everything:
            return True
        return self.root is not None and jurisdiction is not None and jurisdiction.path.startswith(self.root.path)

    def q(self, to: str = "jurisdiction") -> Q:
        """A condition on a queryset whose rows reach their jurisdiction through `to`
        ("unit__jurisdiction", "plan__jurisdiction"; "" for jurisdictions themselves)."""
        if self.everything:
            return Q()
        if self.root is None:
            return Q(pk__in=[])
        return Q(**{f"{to}__path__startswith" if to else "path__startswith": self.root.path})

    def filter(self, queryset: QuerySet, to: str = "jurisdiction", *, many: bool = False) -> QuerySet:
        """`queryset` cut to the scope. `many`: `to` crosses a many-valued relation (a liaison's
        units), so a row reached twice is kept once (a subquery, not DISTINCT)."""
        if self.everything:
            return queryset
        if self.root is None:
            return queryset.none()
        if many:
            return queryset.filter(pk__in=queryset.model._default_manager.filter(self.q(to)).values("pk"))
        return queryset.filter(self.q(to))

    def limit(self, queryset: QuerySet, path: str = "jurisdiction__path") -> QuerySet:
        """`queryset` cut to the scope by a lookup that ends in a jurisdiction's path (drafting's form)."""
        return self.filter(queryset, path.removesuffix("path").removesuffix("__"))

    def jurisdictions(self) -> QuerySet:
        """The jurisdictions in the scope."""
        return self.filter(Jurisdiction.objects.all(), "")


EVERYTHING = Scope(everything=True)
NOTHING = Scope()


def scope_for(user) -> Scope:
    """The scope of `user`, read once per request (kept on the user object)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    if user.is_superuser:
        return EVERYTHING
    cached = getattr(user, "_portal_scope", None)
    if cached is None:
        root = next(iter(Jurisdiction.objects.raw(_STAFF_JURISDICTION_SQL, [user.pk])), None)
        cached = user._portal_scope = Scope(root=root)
    return cached


def scoped(queryset: QuerySet, user, to: str = "jurisdiction", *, many: bool = False) -> QuerySet:
    """`queryset` limited to what `user` may see, its rows reaching their jurisdiction through `to`."""
    return scope_for(user).filter(queryset, to, many=many)


def jurisdiction_of(obj, to: str) -> Jurisdiction | None:
    """The jurisdiction an object reaches through a single-valued lookup `to` ("" : the object)."""
    node = obj
    for name in filter(None, to.split("__")):
        node = getattr(node, name, None)
        if node is None:
            return None
    return node
