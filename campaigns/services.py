"""Writes to donations and drives: logging a donation protects the ID number on the way in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from units.models import Unit

from . import crypto
from .identity import IdNumberError, check_id_number, mask_id_number
from .models import Donation, DonationDrive

ERROR_FUTURE = "献血日期不能晚于今天。"
ERROR_DUPLICATE = "此人当天已有献血记录，不能重复登记。"
WHOLE_BLOOD_VOLUMES = (200, 300, 400)


def blood_units(kind: str, volume_ml: int) -> Decimal:
    """Blood units (U): 200 ml of whole blood is 1 U; a dose of apheresis platelets counts 1."""
    if kind == Donation.Kind.PLATELETS:
        return Decimal(1)
    return (Decimal(volume_ml) / Decimal(200)).quantize(Decimal("0.1"))


def build_donation(
    *,
    unit: Unit,
    donor_name: str,
    id_number: str,
    donated_on: dt.date,
    kind: str = Donation.Kind.WHOLE_BLOOD,
    volume_ml: int = 400,
    drive: DonationDrive | None = None,
    phone: str = "",
    logged_by=None,
    status: str = Donation.Status.LOGGED,
) -> Donation:
    """An unsaved donation with its ID number checked, encrypted, hashed and masked."""
    try:
        identity = check_id_number(id_number)
    except IdNumberError as exc:
        raise ValidationError({"id_number": str(exc)}) from exc
    return Donation(
        donor_name=donor_name.strip(),
        id_number_encrypted=crypto.encrypt(identity.number),
        id_number_hash=crypto.lookup_hash(identity.number),
        id_number_masked=mask_id_number(identity.number),
        sex=identity.sex,
        birth_date=identity.birth_date,
        phone_encrypted=crypto.encrypt(phone) if phone else "",
        unit=unit,
        donated_on=donated_on,
        kind=kind,
        volume_ml=volume_ml,
        blood_units=blood_units(kind, volume_ml),
        drive=drive,
        logged_by=logged_by,
        status=status,
    )


@transaction.atomic
def donation_log(*, donated_on: dt.date, **fields) -> Donation:
    """Log one donation (fields as `build_donation`). The ID number is never stored in clear.

    The same person on the same day is one donation: a database constraint decides, so two
    liaisons submitting at once get one row and one ValidationError.
    """
    if donated_on > timezone.localdate():
        raise ValidationError({"donated_on": ERROR_FUTURE})
    donation = build_donation(donated_on=donated_on, **fields)
    donation.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            donation.save()
    except IntegrityError as exc:
        raise ValidationError({"id_number": ERROR_DUPLICATE}) from exc
    return donation
