"""Uploads waiting between their preview and the user's confirmation."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StagedUpload(models.Model):
    """An uploaded file checked in a preview, kept (encrypted, in `core.uploads`) until confirmed.

    The row is claimed by the transaction that applies the file: a second confirmation of the
    same token finds it claimed and writes nothing. Claimed rows stay, without their file, until
    they expire, so that second confirmation can say the file was already applied.
    """

    class Kind(models.TextChoices):
        NOTICE = "notice", _("通知附件")
        ROSTER = "roster", _("献血者名单")

    token = models.UUIDField(_("令牌"), unique=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.CASCADE, related_name="+"
    )
    filename = models.CharField(_("文件名"), max_length=255)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    meta = models.JSONField(_("预览参数"), default=dict, blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"), db_index=True)
    claimed_at = models.DateTimeField(_("应用时间"), null=True, blank=True)
    result = models.JSONField(_("应用结果"), default=dict, blank=True)
    # A scan read in the background (quotas.tasks): {"state": queued|running|done|failed,
    # "done": pages read, "total": pages, "error": the message for staff}; empty otherwise.
    progress = models.JSONField(_("读取进度"), default=dict, blank=True)

    class Meta:
        verbose_name = _("待确认的上传")
        verbose_name_plural = _("待确认的上传")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.filename}"


class SharedResult(models.Model):
    """The last result of a computation that readers arriving together share (`core.shared`).

    Written only when another reader was waiting for it; `generation` tells a waiter whether a
    computation finished while it waited. Holds no personal data (dashboard figures).
    """

    key = models.CharField(_("键"), max_length=200, unique=True)
    variant = models.CharField(_("计算条件"), max_length=100)
    generation = models.PositiveBigIntegerField(_("代次"), default=0)
    data = models.TextField(_("结果"))
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("共享计算结果")
        verbose_name_plural = _("共享计算结果")

    def __str__(self) -> str:
        return self.key
