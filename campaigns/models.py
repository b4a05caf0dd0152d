"""Donation drives (献血活动) and the donations liaisons log for their units."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import ExpressionWrapper, F, IntegerField, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from quotas.models import AnnualPlan
from units.models import Unit

from .querysets import DonationQuerySet


class DonationDrive(models.Model):
    """A date (or dates) and place where the blood station collects from invited units."""

    plan = models.ForeignKey(AnnualPlan, verbose_name=_("年度计划"), on_delete=models.CASCADE, related_name="drives")
    title = models.CharField(_("名称"), max_length=200, blank=True, default="")
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"))
    place = models.CharField(_("地点"), max_length=200)
    station = models.CharField(_("采血点/采血车"), max_length=200, blank=True, default="")
    units = models.ManyToManyField(Unit, verbose_name=_("受邀单位"), related_name="drives", blank=True)
    notes = models.TextField(_("备注"), blank=True, default="")

    class Meta:
        verbose_name = _("献血活动")
        verbose_name_plural = _("献血活动")
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(condition=Q(start_date__lte=F("end_date")), name="drive_start_before_end"),
        ]

    def __str__(self) -> str:
        when = self.start_date.isoformat() if self.start_date == self.end_date else f"{self.start_date}–{self.end_date}"
        return f"{when} {self.title or self.place}"


ML_PER_BLOOD_UNIT = 200  # DOMAIN.md: 200 ml of whole blood is 1 U, 400 ml is 2 U


class Donation(models.Model):
    """One completed donation by a person of a unit. The ID number is never stored in clear."""

    class Kind(models.TextChoices):
        WHOLE_BLOOD = "whole", _("全血")
        PLATELETS = "platelets", _("单采血小板")

    class Status(models.TextChoices):
        LOGGED = "logged", _("已登记")
        VERIFIED = "verified", _("已核实")
        REJECTED = "rejected", _("已退回")

    class Source(models.TextChoices):
        REPORTED = "reported", _("单位上报")
        STATION = "station", _("血站记录")

    class Sex(models.TextChoices):
        MALE = "M", _("男")
        FEMALE = "F", _("女")

    donor_name = models.CharField(_("姓名"), max_length=50)
    id_number_encrypted = models.TextField(_("身份证号（加密）"), editable=False)
    # Indexed by `donation_id_hash` (Meta): the field's own db_index also gave PostgreSQL a
    # `varchar_pattern_ops` copy for LIKE, which no query uses (a keyed hash is matched exactly).
    id_number_hash = models.CharField(_("身份证号散列"), max_length=64, editable=False)
    id_number_masked = models.CharField(_("身份证号"), max_length=18, editable=False)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    phone_encrypted = models.TextField(_("手机号（加密）"), blank=True, default="", editable=False)
    # No index of its own: `donation_unit_date` (unit, donated_on) serves every lookup by unit.
    unit = models.ForeignKey(
        Unit, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="donations", db_index=False
    )
    donated_on = models.DateField(_("献血日期"))
    kind = models.CharField(_("献血类型"), max_length=10, choices=Kind.choices, default=Kind.WHOLE_BLOOD)
    volume_ml = models.PositiveIntegerField(
        _("献血量（毫升）"), null=True, blank=True, help_text=_("全血：200、300 或 400 毫升。")
    )
    doses = models.PositiveSmallIntegerField(
        _("治疗量"), null=True, blank=True, help_text=_("单采血小板：1 或 2 个治疗量。")
    )
    # Blood units (U), derived from the amount by `blood_units_for` and held to it by the
    # constraint `donation_blood_units_derived`: no path can store a stale value.
    blood_units = models.DecimalField(_("单位数（U）"), max_digits=4, decimal_places=1, editable=False)
    drive = models.ForeignKey(
        DonationDrive,
        verbose_name=_("献血活动"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="donations",
    )
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    logged_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.LOGGED)
    # Declared by the liaison: the donor gave blood before, outside this portal. It lets a donor
    # aged 55–60 be logged as a repeat donor (GB 18467-2011), with a warning, for staff to check.
    declared_history = models.BooleanField(
        _("曾献血（本系统外）"), default=False, db_default=False, help_text=_("联络员声明此人曾在本系统外献过血。")
    )
    # Where the row came from: reported by the unit (a liaison, a roster, staff), or created from
    # a blood-station collection record no one reported (stations' import, on staff's confirm).
    source = models.CharField(
        _("来源"), max_length=10, choices=Source.choices, default=Source.REPORTED, db_default=Source.REPORTED
    )
    # Set and cleared only by the stations app when it links a collection record to this
    # donation (one-to-one): the station's system confirms it happened. Counted, while the
    # donation is not rejected, in `VerifiedTally` by triggers (migration 0020).
    station_verified = models.BooleanField(_("血站核实"), default=False, db_default=False)
    flags = models.JSONField(_("规则提示"), default=list, blank=True)
    flag_resolution = models.TextField(_("处理说明"), blank=True, default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)

    objects = DonationQuerySet.as_manager()
    # The ciphertexts stay out of the history: it records who changed what, not a second copy.
    history = HistoricalRecords(
        verbose_name=_("献血记录变更记录"),
        verbose_name_plural=_("献血记录变更记录"),
        excluded_fields=["id_number_encrypted", "phone_encrypted"],
        # The history is read by donation (`id`), time and author; these columns are never
        # looked up, and each index was one more write per donation logged.
        no_db_index=["id_number_hash", "drive", "logged_by", "reviewed_by"],
    )

    class Meta:
        verbose_name = _("献血记录")
        verbose_name_plural = _("献血记录")
        ordering = ["-donated_on", "-id"]
        # The portal pages' permissions (units.roles): groups bundle them into roles.
        permissions = [
            ("log_donation", _("登记本单位献血者（联络员页面）")),
            ("view_dashboard", _("查看完成情况、导出与通报")),
        ]
        indexes = [
            models.Index(fields=["unit", "donated_on"], name="donation_unit_date"),
            # A person's every donation, rejected ones too (`selectors.donor_history`); the
            # rules' reads of counted ones use the partial unique index below.
            models.Index(fields=["id_number_hash"], name="donation_id_hash"),
            models.Index(fields=["donated_on"], name="donation_date"),
            # The station-verified basis (`selectors._SOURCES[VERIFIED]`: the unit table's 血站核实
            # column, `?basis=verified`) reads a unit's verified donations of a year from the index
            # alone: a county of 1,885 units took 208 ms of heap reads with none verified, 0.9 ms
            # with this index; 47 ms with nine in ten verified (docs/performance.md). New donations
            # are not verified, so logging never writes to it.
            models.Index(
                fields=["unit", "donated_on"],
                include=["blood_units"],
                condition=Q(station_verified=True) & ~Q(status="rejected"),
                name="donation_verified_unit_date",
            ),
        ]
        constraints = [
            # The same person on the same day is one donation, however many liaisons submit it.
            models.UniqueConstraint(
                fields=["id_number_hash", "donated_on"],
                condition=~Q(status="rejected"),
                name="donation_one_per_person_per_day",
            ),
            models.CheckConstraint(
                condition=(Q(kind="whole") & Q(volume_ml__in=[200, 300, 400]) & Q(doses__isnull=True))
                | (Q(kind="platelets") & Q(doses__in=[1, 2]) & Q(volume_ml__isnull=True)),
                name="donation_amount_valid",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="whole")
                    & Q(volume_ml=ExpressionWrapper(F("blood_units") * ML_PER_BLOOD_UNIT, output_field=IntegerField()))
                )
                | (Q(kind="platelets") & Q(blood_units=F("doses"))),
                name="donation_blood_units_derived",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.donor_name} {self.id_number_masked} {self.donated_on}"

    @staticmethod
    def blood_units_for(kind: str, amount: int) -> Decimal:
        """Blood units (U): 200 ml of whole blood is 1 U; a therapeutic dose of platelets counts 1."""
        if kind == Donation.Kind.PLATELETS:
            return Decimal(amount)
        return (Decimal(amount) / ML_PER_BLOOD_UNIT).quantize(Decimal("0.1"))


class AccessEvent(models.Model):
    """A recorded look at personal information: a full ID number shown, a roster exported."""

    class Action(models.TextChoices):
        SHOW_ID = "show_id", _("查看完整身份证号")
        EXPORT_ROSTER = "export_roster", _("导出献血者名单")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    action = models.CharField(_("操作"), max_length=20, choices=Action.choices)
    donation = models.ForeignKey(
        Donation, verbose_name=_("献血记录"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.CharField(_("内容"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("个人信息访问记录")
        verbose_name_plural = _("个人信息访问记录")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.get_action_display()}"


class DonationTally(models.Model):
    """Counted donations per unit and day: what the dashboard sums instead of the donations.

    Kept by database triggers on the donation table (migration 0005), in the same transaction
    as the write that changes a donation, so a donation logged a second ago is in the figures
    now, whichever path wrote it (liaison pages, roster, admin, COPY). Rejected donations are
    not counted. `python manage.py recount_tallies --check` compares it with the donations.
    """

    # No index of its own: the unique (unit, day) index below starts with the unit and serves
    # every lookup by unit; a second one only cost a write on each new unit-day of logging.
    unit = models.ForeignKey(Unit, verbose_name=_("单位"), on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField(_("日期"))
    persons = models.IntegerField(_("人次"), default=0)
    blood_units = models.DecimalField(_("单位数（U）"), max_digits=12, decimal_places=1, default=0)

    class Meta:
        verbose_name = _("献血统计")
        verbose_name_plural = _("献血统计")
        indexes = [models.Index(fields=["day"], name="tally_day")]
        constraints = [models.UniqueConstraint(fields=["unit", "day"], name="tally_one_per_unit_day")]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.day}: {self.persons}"


class VerifiedTally(models.Model):
    """Station-verified, counted donations by one jurisdiction's own units in one year, kept.

    Written only by triggers on the donation table (migration 0020: a donation whose
    `station_verified` or counted state, unit or year changes) and on the unit table (a unit
    moving to another jurisdiction). Liaisons' logging never fires them (a new donation is not
    station-verified), so they add nothing to the busiest request. The dashboard adds these up
    over a subtree: one row per jurisdiction and year, a few thousand for the whole country.
    """

    jurisdiction = models.ForeignKey("units.Jurisdiction", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    persons = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("血站核实统计")
        verbose_name_plural = _("血站核实统计")
        constraints = [models.UniqueConstraint(fields=["jurisdiction", "year"], name="verified_tally_year")]

    def __str__(self) -> str:
        return f"{self.jurisdiction_id} {self.year}: {self.persons}"


class PlanProgress(models.Model):
    """The dashboard's summary of one plan's unit quotas, reused until something it reads changes.

    Valid from its `as_of` until the day before `valid_until` (statuses depend on the date: the
    earliest day one of its quotas may change status, or the next month), while its `version`
    equals `ProgressVersion` (bumped only by a recount or a TRUNCATE) and no `PlanProgressDirty`
    row names the plan (inserted by triggers on the tally, in the transaction that logs a
    donation, and on quotas, their members, plans and units). See campaigns/dashboard/kept.py.
    """

    plan = models.OneToOneField(AnnualPlan, primary_key=True, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField()
    valid_until = models.DateField()
    version = models.BigIntegerField()
    # When the computing statement started: an older computation never overwrites a newer one.
    started = models.DateTimeField()
    summary = models.JSONField()

    class Meta:
        verbose_name = _("计划进度缓存")
        verbose_name_plural = _("计划进度缓存")

    def __str__(self) -> str:
        return f"{self.plan_id} {self.as_of} v{self.version}"


class PlanProgressDirty(models.Model):
    """A plan whose donations changed since its summary was computed (written by a trigger).

    One row per change, not one per plan: a logging transaction always adds its own row, so a
    view that takes the marks (DELETE … RETURNING) can only take rows of transactions that have
    committed — whose donations its computation then sees. A mark kept unique and skipped "on
    conflict" could be taken while the transaction that relied on it was still open, and that
    donation would be missing until the plan's next change.

    No foreign-key constraint: deleting a plan deletes its quotas first, whose trigger marks the
    plan; the mark outlives the plan harmlessly, where a deferred constraint would fail the commit.
    """

    plan = models.ForeignKey(AnnualPlan, on_delete=models.CASCADE, related_name="+", db_constraint=False)

    class Meta:
        verbose_name = _("待重算计划")
        verbose_name_plural = _("待重算计划")

    def __str__(self) -> str:
        return str(self.plan_id)


class JurisdictionProgress(models.Model):
    """Counted donations by one jurisdiction's own units in one year, month by month, kept.

    The dashboard's headline, chart and drill-down lines add these up over a subtree. Valid
    while its `version` equals `ProgressVersion` and no `JurisdictionProgressDirty` row names it
    (triggers write one when a donation of its units changes, or a unit moves in or out).
    See campaigns/dashboard/kept.py.
    """

    jurisdiction = models.ForeignKey("units.Jurisdiction", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    version = models.BigIntegerField()
    started = models.DateTimeField()  # as PlanProgress.started
    months = models.JSONField()  # twelve [persons, "blood units"] pairs

    class Meta:
        verbose_name = _("行政区划月度进度缓存")
        verbose_name_plural = _("行政区划月度进度缓存")
        constraints = [models.UniqueConstraint(fields=["jurisdiction", "year"], name="jurisdiction_progress_year")]

    def __str__(self) -> str:
        return f"{self.jurisdiction_id} {self.year} v{self.version}"


class JurisdictionProgressDirty(models.Model):
    """A jurisdiction and year whose donations changed since they were summed (written by a
    trigger; one row per change and no foreign-key constraint, as `PlanProgressDirty`)."""

    jurisdiction = models.ForeignKey(
        "units.Jurisdiction", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    year = models.PositiveSmallIntegerField()

    class Meta:
        verbose_name = _("待重算行政区划")
        verbose_name_plural = _("待重算行政区划")

    def __str__(self) -> str:
        return f"{self.jurisdiction_id} {self.year}"


class ProgressVersion(models.Model):
    """One row: a counter that makes every kept summary stale when bumped (by a recount of the
    tally, or a TRUNCATE of a table they read; staff edits mark plans instead)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    n = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.n)


class Bulletin(models.Model):
    """A dated bulletin (通报): the dashboard frozen as it stood, to reopen unchanged later."""

    jurisdiction = models.ForeignKey(
        "units.Jurisdiction",
        verbose_name=_("行政区划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bulletins",
        help_text=_("空：全部行政区划。"),
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    title = models.CharField(_("标题"), max_length=200)
    as_of = models.DateField(_("数据日期"))
    created_at = models.DateTimeField(_("发布时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发布人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    figures = models.JSONField(_("数据"), editable=False)
    note = models.TextField(_("说明"), blank=True, default="")

    class Meta:
        verbose_name = _("通报")
        verbose_name_plural = _("通报")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["jurisdiction", "year"], name="bulletin_jurisdiction_year")]

    def __str__(self) -> str:
        return self.title
