"""Jurisdictions (the administrative tree), the units that receive quotas, their aliases and liaisons."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .naming import clean_name, normalize_name
from .querysets import JurisdictionQuerySet, UnitQuerySet

ERROR_SIBLING_NAME = _("“%(name)s”与同一上级下的“%(other)s”是同一个名称（只差空格、全半角或括号的写法）。")


class Jurisdiction(models.Model):
    """A node of the administrative tree: 省 → 市 → 区/县 → 乡镇/街道/园区. Plans belong to one."""

    class Level(models.IntegerChoices):
        PROVINCE = 1, _("省")
        CITY = 2, _("市")
        COUNTY = 3, _("区/县")
        TOWN = 4, _("乡镇/街道/园区")

    name = models.CharField(_("名称"), max_length=100)
    level = models.PositiveSmallIntegerField(_("级别"), choices=Level.choices, default=Level.COUNTY)
    code = models.CharField(_("行政区划代码"), max_length=12, blank=True, default="")
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Materialised path of primary keys, "/1/7/42/", kept by units.services so a whole subtree
    # is one indexed prefix query at national scale.
    path = models.CharField(_("路径"), max_length=255, blank=True, default="", db_index=True, editable=False)

    objects = JurisdictionQuerySet.as_manager()

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["path", "name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="jurisdiction_unique_name_in_parent"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(parent__isnull=True), name="jurisdiction_unique_root_name"
            ),
            models.UniqueConstraint(fields=["code"], condition=~Q(code=""), name="jurisdiction_unique_code"),
        ]

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple:
        return (self.name, *(self.parent.natural_key() if self.parent_id else ()))

    def clean(self):
        """The name as stored everywhere (units.naming.clean_name), and no sibling of the same
        name in another spelling: jurisdictions are found by their normalised name (an old
        spelling such as "桑 植 县" names 桑植县), so two such siblings would be one name twice."""
        self.name = clean_name(self.name)
        key = normalize_name(self.name)
        siblings = Jurisdiction.objects.filter(parent_id=self.parent_id).exclude(pk=self.pk)
        for other in siblings.values_list("name", flat=True):
            if normalize_name(other) == key:
                raise ValidationError({"name": ERROR_SIBLING_NAME % {"name": self.name, "other": other}})

    @property
    def full_name(self) -> str:
        """ "宜春市袁州区": the names from the city down, as notices write them."""
        names = [j.name for j in self.ancestors()] + [self.name]
        return "".join(n for n in names if not n.endswith("省") or len(names) == 1)

    def ancestors(self) -> list[Jurisdiction]:
        chain = []
        node = self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))


class Unit(models.Model):
    """A unit that receives quotas: a department, school, hospital, company, town…"""

    class Category(models.TextChoices):
        PARTY_GOVERNMENT = "party_gov", _("党政机关")
        PUBLIC_INSTITUTION = "institution", _("事业单位")
        ENTERPRISE = "enterprise", _("企业")
        SCHOOL = "school", _("学校")
        HEALTH = "health", _("医疗卫生")
        MILITARY = "military", _("部队")
        TOWN = "town", _("乡镇街道")
        OTHER = "other", _("其他")

    name = models.CharField(_("单位名称"), max_length=200)
    normalized_name = models.CharField(_("规范名称"), max_length=200, editable=False, db_index=True)
    category = models.CharField(_("类别"), max_length=20, choices=Category.choices, default=Category.OTHER)
    jurisdiction = models.ForeignKey(
        Jurisdiction, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="units"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("主管单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subordinates",
        help_text=_("下属单位的献血计入主管单位的任务。"),
    )
    headcount = models.PositiveIntegerField(_("总人数"), null=True, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True, default="")
    contact_phone = models.CharField(_("联系电话"), max_length=50, blank=True, default="")
    active = models.BooleanField(_("启用"), default=True)

    objects = UnitQuerySet.as_manager()
    history = HistoricalRecords(verbose_name=_("单位变更记录"), verbose_name_plural=_("单位变更记录"))

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["jurisdiction__path", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["jurisdiction", "normalized_name"], name="unit_unique_name_in_jurisdiction"
            ),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="unit_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple:
        return (self.name, *self.jurisdiction.natural_key())


class UnitAlias(models.Model):
    """Another name a notice uses for a unit (建行 / 市建设银行 / 建设银行); one unit per name."""

    unit = models.ForeignKey(Unit, verbose_name=_("单位"), on_delete=models.CASCADE, related_name="aliases")
    jurisdiction = models.ForeignKey(
        Jurisdiction, verbose_name=_("行政区划"), on_delete=models.CASCADE, related_name="unit_aliases"
    )
    name = models.CharField(_("别名"), max_length=200)
    normalized_name = models.CharField(_("规范名称"), max_length=200, editable=False, db_index=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = HistoricalRecords(verbose_name=_("别名变更记录"), verbose_name_plural=_("别名变更记录"))

    class Meta:
        verbose_name = _("单位别名")
        verbose_name_plural = _("单位别名")
        ordering = ["jurisdiction", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["jurisdiction", "normalized_name"], name="alias_unique_name_in_jurisdiction"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.unit.name}"


class Liaison(models.Model):
    """A unit's liaison (联络员): a user who logs the donors of one or more units."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="liaison"
    )
    units = models.ManyToManyField(Unit, verbose_name=_("负责单位"), related_name="liaisons")
    phone = models.CharField(_("手机号"), max_length=30, blank=True, default="")

    class Meta:
        verbose_name = _("联络员")
        verbose_name_plural = _("联络员")
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class StaffProfile(models.Model):
    """The jurisdiction a blood-office or leadership user belongs to: their default view."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="staff_profile"
    )
    jurisdiction = models.ForeignKey(
        Jurisdiction, verbose_name=_("所属行政区划"), on_delete=models.PROTECT, related_name="staff"
    )

    class Meta:
        verbose_name = _("工作人员")
        verbose_name_plural = _("工作人员")
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"{self.user.get_username()} @ {self.jurisdiction}"
