"""The blood station's collection records (血站采血记录) and the exports they came in.

The station is the authority on whether a donation happened (DOMAIN.md, "The blood station's
records"). A record is matched to a reported donation by the ID number's keyed hash, the day and
the kind; what units reported but the station has not seen is derived by query from the exports'
covered date ranges (`stations.selectors`), never written into campaigns' donations; whether a
donation is confirmed is written (`Donation.station_verified`, set with the link, and counted
per jurisdiction and year by campaigns' triggers for the dashboard).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from campaigns.models import Donation
from units.models import Jurisdiction, Unit


class StationExport(models.Model):
    """One export of the station's system, imported by a blood office for its jurisdiction."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="station_exports"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("导入人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("导入时间"), auto_now_add=True)
    filename = models.CharField(_("文件名"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    first_day = models.DateField(_("覆盖起始日"))
    last_day = models.DateField(_("覆盖截止日"))
    rows = models.PositiveIntegerField(_("行数"), default=0)
    new_records = models.PositiveIntegerField(_("新增记录"), default=0)
    already_imported = models.PositiveIntegerField(_("已导入"), default=0)
    # Records kept by an earlier import, linked to no donation, that this one matched or
    # attributed (a donation reported, an alias or unit added since): updated, not added again.
    updated_records = models.PositiveIntegerField(_("更新的已有记录"), default=0)
    matched = models.PositiveIntegerField(_("已匹配"), default=0)
    volume_differs = models.PositiveIntegerField(_("献血量不一致"), default=0)
    station_only = models.PositiveIntegerField(_("仅血站有记录"), default=0)
    unattributed = models.PositiveIntegerField(_("未归属"), default=0)

    class Meta:
        verbose_name = _("血站导出文件")
        verbose_name_plural = _("血站导出文件")
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["jurisdiction", "first_day", "last_day"], name="station_export_range")]
        constraints = [
            models.CheckConstraint(condition=Q(first_day__lte=F("last_day")), name="station_export_range_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} {self.first_day}–{self.last_day}"


class CollectionRecord(models.Model):
    """One collection in the station's system, kept once whatever the number of exports it was in.

    `station_key` is the station's donation code (献血码/条码) or, without one, a digest of the ID
    number's keyed hash, the day and the kind (`match_key`). A record attributed to no unit of
    the jurisdiction keeps no name and no ID number: only the keys, day, kind, amount and the
    workplace text, so it is counted as 未归属 and recognised when it comes again. A record
    attributed to a unit that no one reported becomes a donation of that unit (outcome CREATED,
    linked; the donation's source is 血站记录); it stays unlinked (STATION_ONLY) only when the
    person already has a counted donation that day of another kind.
    """

    class Kind(models.TextChoices):
        WHOLE_BLOOD = "whole", _("全血")
        PLATELETS = "platelets", _("单采血小板")

    class Outcome(models.TextChoices):
        MATCHED = "matched", _("已匹配")
        VOLUME_DIFFERS = "volume", _("献血量不一致")
        STATION_ONLY = "station", _("仅血站有记录")
        # Station-only, attributed to a unit, and made a donation of that unit (source 血站记录).
        CREATED = "created", _("仅血站有记录，已计入单位")

    class Attribution(models.TextChoices):
        DONATION = "donation", _("按上报记录")
        NAME = "name", _("按单位名称")
        ALIAS = "alias", _("按单位别名")
        NONE = "none", _("未归属")

    station_key = models.CharField(_("血站记录键"), max_length=100, unique=True)
    # Unique too: one person, one day, one kind is one collection, whichever key an export gave
    # it — two imports of overlapping exports keyed differently cannot both keep it.
    match_key = models.CharField(_("匹配键"), max_length=64, unique=True)
    export = models.ForeignKey(
        StationExport, verbose_name=_("首次导入于"), on_delete=models.PROTECT, related_name="records"
    )
    jurisdiction = models.ForeignKey(
        Jurisdiction, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="collection_records"
    )
    donor_name = models.CharField(_("姓名"), max_length=50, blank=True, default="")
    sex = models.CharField(_("性别"), max_length=1, blank=True, default="")
    id_number_encrypted = models.TextField(_("身份证号（加密）"), blank=True, default="", editable=False)
    id_number_hash = models.CharField(_("身份证号散列"), max_length=64, blank=True, default="", editable=False)
    id_number_masked = models.CharField(_("身份证号"), max_length=18, blank=True, default="", editable=False)
    collected_on = models.DateField(_("献血日期"))
    kind = models.CharField(_("献血类型"), max_length=10, choices=Kind.choices)
    volume_ml = models.PositiveIntegerField(_("献血量（毫升）"), null=True, blank=True)
    doses = models.PositiveSmallIntegerField(_("治疗量"), null=True, blank=True)
    place = models.CharField(_("献血地点"), max_length=200, blank=True, default="")
    workplace = models.CharField(_("工作单位（自述）"), max_length=200, blank=True, default="")
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("归属单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="collection_records",
    )
    attribution = models.CharField(_("归属方式"), max_length=10, choices=Attribution.choices)
    donation = models.OneToOneField(
        Donation,
        verbose_name=_("匹配的上报记录"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="collection_record",
    )
    outcome = models.CharField(_("核对结果"), max_length=10, choices=Outcome.choices)

    class Meta:
        verbose_name = _("血站采血记录")
        verbose_name_plural = _("血站采血记录")
        ordering = ["-collected_on", "-id"]
        permissions = [("reconcile_station", _("导入血站记录并核对"))]
        indexes = [
            models.Index(fields=["unit", "collected_on"], name="collection_unit_date"),
            models.Index(fields=["jurisdiction", "collected_on"], name="collection_jurisdiction_date"),
            models.Index(fields=["id_number_hash", "collected_on"], name="collection_hash_date"),
        ]
        constraints = [
            # A matched record loses its donation when the liaison withdraws it (SET_NULL): the
            # selectors count verified donations through the link, never through the outcome.
            models.CheckConstraint(
                condition=~Q(outcome="station") | Q(donation__isnull=True),
                name="collection_station_only_unlinked",
            ),
            models.CheckConstraint(
                condition=~Q(attribution="none")
                | (Q(unit__isnull=True) & Q(id_number_encrypted="") & Q(donor_name="")),
                name="collection_unattributed_anonymous",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.donor_name or '—'} {self.id_number_masked} {self.collected_on}"

    @property
    def amount_display(self) -> str:
        return f"{self.doses} 治疗量" if self.kind == self.Kind.PLATELETS else f"{self.volume_ml} ml"
