"""factory_boy factories for the portal's models."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from campaigns.donors.identity import check_character
from campaigns.models import Donation
from campaigns.services import donation_build
from quotas.models import AnnualPlan, Quota
from units.models import Jurisdiction, Liaison, Unit
from units.naming import normalize_name
from units.services import jurisdiction_save


def id_number(birth: dt.date = dt.date(1991, 1, 1), seq: int = 7, region: str = "360426") -> str:
    """A valid GB 11643 number; seq's last digit odd gives a man."""
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


class JurisdictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Jurisdiction

    name = factory.Sequence(lambda n: f"测试区{n}")
    level = Jurisdiction.Level.COUNTY

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return jurisdiction_save(jurisdiction=model_class(*args, **kwargs))


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    name = factory.Sequence(lambda n: f"测试单位{n}")
    normalized_name = factory.LazyAttribute(lambda o: normalize_name(o.name))
    jurisdiction = factory.SubFactory(JurisdictionFactory)
    category = Unit.Category.PARTY_GOVERNMENT


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AnnualPlan

    jurisdiction = factory.SubFactory(JurisdictionFactory)
    year = 2026
    status = AnnualPlan.Status.PUBLISHED


class QuotaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quota
        skip_postgeneration_save = True

    plan = factory.SubFactory(PlanFactory)
    year = factory.LazyAttribute(lambda o: o.plan.year)
    label = factory.Sequence(lambda n: f"测试单位{n}")
    target = 10
    period_text = "3月份"
    period_start = factory.LazyAttribute(lambda o: dt.date(o.plan.year, 3, 1))
    period_end = factory.LazyAttribute(lambda o: dt.date(o.plan.year, 3, 31))

    @factory.post_generation
    def units(self, create, extracted, **kwargs):
        if create and extracted:
            self.units.add(*extracted)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-1")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))
            self.is_staff = extracted in ("献血办", "领导")
            self.save(update_fields=["is_staff"])


def make_liaison(user, *units) -> Liaison:
    liaison, _ = Liaison.objects.get_or_create(user=user)
    liaison.units.add(*units)
    return liaison


def make_donation(unit, *, donated_on: dt.date, seq: int = 7, **fields) -> Donation:
    donation = donation_build(
        unit=unit,
        donor_name=fields.pop("donor_name", "张三"),
        id_number=fields.pop("id_number", id_number(seq=seq)),
        donated_on=donated_on,
        **fields,
    )
    donation.save()
    return donation
