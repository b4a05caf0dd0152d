"""Writes to donations and drives: logging a donation protects the ID number on the way in."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import uuid
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from core import crypto
from core.prepared import prepared
from units.models import Unit

from .donors.identity import IdNumberError, check_id_number, mask_id_number
from .donors.rules import PLATELETS, RuleResult, check_donor, interval_flags, pair_breach, person_flags
from .models import AccessEvent, Donation, DonationDrive
from .sql import as_date, as_json

ERROR_FUTURE = "献血日期不能晚于今天。"
ERROR_DUPLICATE = "此人当天已有献血记录，不能重复登记。"
WHOLE_BLOOD_VOLUMES = (200, 300, 400)


ERROR_OUTSIDE_PLAN_YEAR = "献血日期 {date} 不在本单位计划年度（{years} 年）内。"
ERROR_NO_PLAN = "本单位没有已发布的年度计划，暂不能登记。"
ERROR_VOLUME = "全血献血量只能是 200、300 或 400 毫升。"
ERROR_DOSES = "单采血小板为 1 或 2 个治疗量。"
ERROR_LOCKED = "已核实或已退回的记录不能再修改。"
CHANGE_REASON_REVIEW = "{action}（批次 {batch}，共 {count} 条）：{reason}"
ERROR_REASON_REJECT = "退回须填写处理说明（联络员会看到）。"
ERROR_REASON_FLAGGED = "{names}有规则提示：核实须填写处理说明。"
CHANGE_REASON_ROSTER = "名单导入 {name}（SHA-256 {sha}…，批次 {batch}，共 {count} 人）"
CHANGE_REASON_REFLAG = "规则提示重新计算：{cause}"
CAUSE_LOGGED = "同一献血者 {date} 的献血已登记"
CAUSE_UPDATED = "同一献血者 {date} 的献血记录已修改"
CAUSE_WITHDRAWN = "同一献血者 {date} 的献血记录已撤回"
CAUSE_REVIEWED = "同一献血者的献血记录已{action}"
CAUSE_ROSTER = "名单导入 {name}"


def plan_years_for(unit: Unit) -> set[int]:
    """Years of the published plans that give this unit (or its parent) a quota.

    Here and in `history_of`, plain SQL: both run for every donation logged, and building the
    query through the ORM took longer than PostgreSQL took to answer it (bench_liaisons). The
    lists are placeholders, not `campaigns.sql.any_of`'s array parameter: for one or two values
    the array cost more (bench_log_cost: 10.50 against 10.41 million instructions a donation).
    On PostgreSQL it is a prepared statement (`core.prepared`), one per list length.
    """
    from quotas.models import AnnualPlan, Quota

    units = [unit.pk] + ([unit.parent_id] if unit.parent_id else [])
    sql = f"""SELECT DISTINCT p.year FROM {AnnualPlan._meta.db_table} p
              JOIN {Quota._meta.db_table} q ON q.plan_id = p.id
              JOIN {Quota.units.through._meta.db_table} m ON m.quota_id = q.id
              WHERE p.status = '{AnnualPlan.Status.PUBLISHED}' AND m.unit_id IN ({", ".join(["%s"] * len(units))})"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(prepared(f"portal_plan_years_{len(units)}", sql, len(units)), units)
        return {year for (year,) in cursor.fetchall()}


def check_amount(kind: str, amount) -> None:
    if kind == Donation.Kind.PLATELETS:
        if amount not in (1, 2):
            raise ValidationError({"amount": ERROR_DOSES})
    elif amount not in WHOLE_BLOOD_VOLUMES:
        raise ValidationError({"amount": ERROR_VOLUME})


def donation_build(
    *,
    unit: Unit,
    donor_name: str,
    id_number: str,
    donated_on: dt.date,
    kind: str = Donation.Kind.WHOLE_BLOOD,
    amount: int = 400,
    drive: DonationDrive | None = None,
    phone: str = "",
    logged_by=None,
    status: str = Donation.Status.LOGGED,
    declared_history: bool = False,
) -> Donation:
    """An unsaved donation with its ID number checked, encrypted, hashed and masked.

    `amount` is millilitres for whole blood, therapeutic doses for apheresis platelets.
    """
    try:
        identity = check_id_number(id_number)
    except IdNumberError as exc:
        raise ValidationError({"id_number": str(exc)}) from exc
    check_amount(kind, amount)
    platelets = kind == Donation.Kind.PLATELETS
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
        volume_ml=None if platelets else amount,
        doses=amount if platelets else None,
        blood_units=Donation.blood_units_for(kind, amount),
        drive=drive,
        logged_by=logged_by,
        status=status,
        declared_history=declared_history,
    )


class Past(NamedTuple):
    """One counted donation of a person as the rules see it, with the flags it carries now."""

    pk: int
    day: dt.date
    kind: str
    flags: object  # as read raw: decoded only when the donation may need new flags (`as_json`)


def history_of(id_hashes: list[str], *, exclude_pk: int | None = None) -> dict[str, list[Past]]:
    """Counted (not rejected) donations of these people anywhere, before and after any date,
    whatever unit logged them: one query."""
    history: dict[str, list[Past]] = {h: [] for h in id_hashes}
    if not id_hashes:
        return history
    # The status is written into the statement: the partial unique index (not rejected) serves
    # the lookup only when the planner can see the condition, in a prepared statement too.
    hashes = ", ".join(["%s"] * len(id_hashes))
    sql = f"""SELECT id_number_hash, id, donated_on, kind, flags FROM {Donation._meta.db_table}
              WHERE status <> '{Donation.Status.REJECTED}' AND id_number_hash IN ({hashes})"""  # noqa: S608
    params = list(id_hashes)
    if exclude_pk:
        sql += " AND id <> %s"
        params.append(exclude_pk)
    if len(id_hashes) == 1:  # one person: logging or editing a donor, on every request
        sql = prepared("portal_history_edit" if exclude_pk else "portal_history", sql, len(params))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for key, pk, day, kind, flags in cursor.fetchall():
            history[key].append(Past(pk, as_date(day), kind, flags))
    return history


# Advisory-lock keys (PostgreSQL, the two-integer form): one per person, keyed on the ID's keyed
# hash, and one common key that every writer takes shared and a writer of many people exclusive.
LOCK_PERSON, LOCK_EVERYONE = 0x444F4E, 0x444F41
MANY_PEOPLE = 64  # above this a writer locks everyone: PostgreSQL's lock table is finite


def _person_key(id_hash: str) -> int:
    key = int(id_hash[:8], 16)
    return key - 2**32 if key >= 2**31 else key


def lock_people(id_hashes) -> None:
    """Serialise the check and the write of these people's donations until the transaction ends.

    The interval rule is a check-then-insert: two requests logging one person at the same
    moment (the same or different units) would each read the person's donations before the
    other's row exists, and neither would be flagged. Every writer of donations therefore takes,
    before it reads the person's history, a transaction-scoped advisory lock per person keyed on
    the ID's keyed hash (in key order, so writers never wait on each other in a cycle; a
    colliding key only makes two people wait for each other). Under READ COMMITTED the read
    after the lock sees whatever the previous holder committed. A writer of more than
    `MANY_PEOPLE` people (a large roster) takes the common key exclusively instead, which waits
    for the writers in flight and holds the others back until it commits.

    SQLite takes no lock here: it has one writer at a time, and the read is inside the writing
    transaction.
    """
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("lock_people outside a transaction would release the lock at once")
    keys = sorted({_person_key(h) for h in id_hashes})
    if not keys:
        return
    with connection.cursor() as cursor:
        if len(keys) > MANY_PEOPLE:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [LOCK_EVERYONE])
        elif len(keys) == 1:  # logging one donor: one round trip
            sql = (
                f"SELECT pg_advisory_xact_lock_shared({LOCK_EVERYONE}, 0), "
                f"pg_advisory_xact_lock({LOCK_PERSON}, %s::int)"
            )
            cursor.execute(prepared("portal_lock_person", sql, 1), [keys[0]])
        else:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, 0)", [LOCK_EVERYONE])
            for key in keys:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_PERSON, key])


def neighbours_to_reflag(donation: Donation, history: list[Past]) -> list[int]:
    """The stored donations whose flags change when `donation` joins `history` (the person's
    other counted donations): those it now breaches an interval with, and, for platelets, the
    later ones of its year whose yearly count it raises. Usually none, and then nothing is
    decoded or written beyond the donation itself."""
    rules = settings.DONOR_RULES
    new = (donation.donated_on, donation.kind)
    changed = []
    for past in history:
        other = (past.day, past.kind)
        if past.day == new[0]:
            continue
        pair = pair_breach(*sorted([new, other]), rules)
        raises_count = new[1] == PLATELETS == past.kind and past.day.year == new[0].year and past.day > new[0]
        if not pair and not raises_count:
            continue
        others = [(p.day, p.kind) for p in history if p.pk != past.pk] + [new]
        if interval_flags(past.day, past.kind, others, rules) != as_json(past.flags):
            changed.append(past.pk)
    return changed


def apply_rules(
    donation: Donation, history: list[Past] | list[tuple[dt.date, str]], *, plan_years: set[int] | None
) -> RuleResult:
    """Date, plan-year, age and interval rules (against the person's other donations, earlier
    and later); errors raise, flags are stored on the donation. When `history` is read from the
    database (`history_of`), the stored donations whose flags the new one changes are noted on it
    as `donation.reflag` for `donation_save`."""
    if donation.donated_on > timezone.localdate():
        raise ValidationError({"donated_on": ERROR_FUTURE})
    if plan_years is not None:
        if not plan_years:
            raise ValidationError({"donated_on": ERROR_NO_PLAN})
        if donation.donated_on.year not in plan_years:
            years = "、".join(str(y) for y in sorted(plan_years))
            raise ValidationError({"donated_on": ERROR_OUTSIDE_PLAN_YEAR.format(date=donation.donated_on, years=years)})
    days = [(p.day, p.kind) if isinstance(p, Past) else tuple(p) for p in history]
    if any(day == donation.donated_on for day, _ in days):
        raise ValidationError({"id_number": ERROR_DUPLICATE})
    result = check_donor(
        birth_date=donation.birth_date,
        day=donation.donated_on,
        kind=donation.kind,
        history=days,
        rules=settings.DONOR_RULES,
        declared_history=donation.declared_history,
    )
    if result.errors:
        raise ValidationError({"id_number": result.errors})
    donation.flags = result.flags
    stored = [p for p in history if isinstance(p, Past)]
    donation.reflag = neighbours_to_reflag(donation, stored) if stored else []
    return result


def donation_prepare(*, check_plan_year: bool = True, **fields) -> tuple[Donation, RuleResult]:
    """An unsaved donation that passed every check (fields as `donation_build`), with its rule
    result: for a form to show errors before saving. `donation_save` checks again, under the
    person's lock."""
    donation = donation_build(**fields)
    years = plan_years_for(donation.unit) if check_plan_year else None
    result = apply_rules(donation, history_of([donation.id_number_hash])[donation.id_number_hash], plan_years=years)
    return donation, result


def donation_log(*, check_plan_year: bool = True, **fields) -> tuple[Donation, RuleResult]:
    """Log one donation in one short transaction (fields as `donation_build`).

    Returns the donation and the rule result (warnings to show, flags stored for staff). The
    same person on the same day is one donation: the database constraint decides, so two
    liaisons submitting at once, or a double click, give one row and one ValidationError; two
    donations of one person close together, submitted at once, are flagged (`lock_people`).
    """
    donation = donation_build(**fields)
    years = plan_years_for(donation.unit) if check_plan_year else None
    return donation, _store(donation, plan_years=years)


@functools.cache
def _insert_statements() -> tuple[list, str, str, str]:
    """The fields, the donation's INSERT, its history row's INSERT … SELECT, and both in one
    statement, built once.

    Logging a donor is the portal's busiest request. Through the ORM, the donation and its
    history row (a second model instance of the same fields, for simple-history) were a fifth of
    its cost; here the history row is copied from the stored row by the database, so the values
    are prepared once and are exactly what was stored. On PostgreSQL the two inserts are one
    statement (the history row copied from the `RETURNING` of the donation's insert, in a
    data-modifying `WITH`), prepared once per connection: one round trip, parsed and planned
    once. SQLite has no data-modifying `WITH`, so there they are two statements.
    """
    qn = connection.ops.quote_name
    table = qn(Donation._meta.db_table)
    fields = [f for f in Donation._meta.concrete_fields if not f.primary_key]
    insert = (
        f"INSERT INTO {table} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608 - names from the model
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {qn(Donation._meta.pk.column)}"
    )
    history = Donation.history.model
    tracked = ", ".join(qn(f.column) for f in history.tracked_fields)
    meta = history._meta
    columns = [meta.get_field(name).column for name in ("history_date", "history_change_reason", "history_type")]
    user = meta.get_field("history_user").column
    into = f"INSERT INTO {qn(meta.db_table)} ({tracked}, {', '.join(qn(c) for c in columns)}, {qn(user)}) "
    values = f"SELECT {tracked}, {qn(Donation._meta.get_field('logged_at').column)}, '', '+', %s "
    copy = f"{into}{values}FROM {table} WHERE {qn(Donation._meta.pk.column)} = %s"  # noqa: S608
    both = (
        f"WITH stored AS ({insert.rsplit(' RETURNING ', 1)[0]} RETURNING *) "
        f"{into}{values}FROM stored RETURNING {qn(meta.get_field('id').column)}"
    )
    return fields, insert, copy, both


def donation_save(donation: Donation) -> Donation:
    """Save a donation built by `donation_build` (checked or not by `donation_prepare`): the
    rules are applied again under the person's lock, so what is stored is what the database
    holds at the insert. The admin's add form and the benchmarks write through here."""
    _store(donation, plan_years=None)
    return donation


def _store(donation: Donation, *, plan_years: set[int] | None) -> RuleResult:
    """The one place a donation is inserted: in one transaction, lock the person
    (`lock_people`), read their history, apply the rules, insert the donation and its history
    row (author: who logged it, "+" as simple-history writes it). A duplicate person-day is a
    ValidationError, not a crash. Field values are prepared as `Model.save` prepares them.

    When the rules find stored donations of the person that the new one breaches, their flags
    are recomputed in the same transaction (`reflag`); otherwise nothing more runs."""
    fields, insert, copy, both = _insert_statements()
    id_hash = donation.id_number_hash
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            lock_people([id_hash])
            result = apply_rules(donation, history_of([id_hash])[id_hash], plan_years=plan_years)
            values = [field.get_db_prep_save(field.pre_save(donation, True), connection) for field in fields]
            if connection.vendor == "postgresql":
                sql = prepared("portal_donation_insert", both, len(values) + 1)
                cursor.execute(sql, [*values, donation.logged_by_id])
                donation.pk = cursor.fetchone()[0]
            else:
                cursor.execute(insert, values)
                donation.pk = cursor.fetchone()[0]
                cursor.execute(copy, [donation.logged_by_id, donation.pk])
            if donation.reflag:  # a backdated or late entry breaches a stored one
                reflag([id_hash], cause=CAUSE_LOGGED.format(date=donation.donated_on), user=donation.logged_by)
    except IntegrityError as exc:
        donation.pk = None
        raise ValidationError({"id_number": ERROR_DUPLICATE}) from exc
    donation._state.adding, donation._state.db = False, connection.alias
    return result


@transaction.atomic
def donation_update(*, donation: Donation, check_plan_year: bool = True, **fields) -> tuple[Donation, RuleResult]:
    """Change a donation that is still only logged: re-run every check as for a new one.

    The liaison sees the ID number only masked: an empty (or absent) `id_number` keeps the stored
    one; an absent `phone` keeps the stored phone (an empty one clears it). The flags of the
    person's other donations are recomputed: a moved date may add some and remove others.
    """
    # The people are locked before the row, as every writer does (see lock_people): the person
    # stored and, when a new ID number is typed, the one it names.
    people = [donation.id_number_hash]
    if fields.get("id_number"):
        with contextlib.suppress(IdNumberError):  # refused below by donation_build
            people.append(crypto.lookup_hash(check_id_number(fields["id_number"]).number))
    lock_people(people)
    locked = Donation.objects.select_for_update().get(pk=donation.pk)
    if locked.status != Donation.Status.LOGGED or locked.station_verified:
        raise ValidationError(ERROR_LOCKED)
    if not fields.get("id_number"):
        fields["id_number"] = crypto.decrypt(locked.id_number_encrypted)
    if fields.get("phone") is None:
        fields["phone"] = crypto.decrypt(locked.phone_encrypted) if locked.phone_encrypted else ""
    fresh = donation_build(logged_by=locked.logged_by, **fields)
    fresh.pk, fresh.logged_at = locked.pk, locked.logged_at
    years = plan_years_for(fresh.unit) if check_plan_year else None
    result = apply_rules(
        fresh, history_of([fresh.id_number_hash], exclude_pk=locked.pk)[fresh.id_number_hash], plan_years=years
    )
    try:
        with transaction.atomic():
            fresh.save(force_update=True)
    except IntegrityError as exc:
        raise ValidationError({"id_number": ERROR_DUPLICATE}) from exc
    # The move may add flags to the new neighbours and take them from the old ones.
    reflag(
        list({locked.id_number_hash, fresh.id_number_hash}),
        cause=CAUSE_UPDATED.format(date=fresh.donated_on),
        user=fresh.logged_by,
    )
    fresh.refresh_from_db(fields=["flags"])
    result.flags = fresh.flags
    return fresh, result


@transaction.atomic
def donation_withdraw(*, donation: Donation) -> None:
    """A liaison takes back a donation logged by mistake, while neither staff nor the station's
    records have verified it."""
    lock_people([donation.id_number_hash])  # before the row, as every writer (see lock_people)
    # A donation the station's record confirms is locked as a staff-verified one is.
    deleted, _ = Donation.objects.filter(
        pk=donation.pk, status=Donation.Status.LOGGED, station_verified=False
    ).delete()
    if not deleted:
        raise ValidationError(ERROR_LOCKED)
    reflag([donation.id_number_hash], cause=CAUSE_WITHDRAWN.format(date=donation.donated_on), user=donation.logged_by)


def reflag(id_hashes: list[str], *, cause: str, user=None) -> int:
    """Recompute the flags of every counted donation of these people from their whole history
    (`rules.person_flags`) and store those that changed, with a history entry naming the cause.

    Called inside the transaction of the change that caused it, after the change: the people
    are locked first (`lock_people`), so the rows read are every committed change of theirs and
    a concurrent writer of the same person waits for this one.
    """
    lock_people(id_hashes)
    rows = list(
        Donation.objects.select_for_update()
        .filter(id_number_hash__in=id_hashes)
        .exclude(status=Donation.Status.REJECTED)
        .order_by("pk")
    )
    by_person: dict[str, dict[int, tuple[dt.date, str]]] = {}
    for row in rows:
        by_person.setdefault(row.id_number_hash, {})[row.pk] = (row.donated_on, row.kind)
    expected = {}
    for donations in by_person.values():
        expected |= person_flags(donations, settings.DONOR_RULES)
    changed = [row for row in rows if row.flags != expected[row.pk]]
    for row in changed:
        row.flags = expected[row.pk]
    if changed:
        bulk_update_with_history(
            changed,
            Donation,
            ["flags"],
            default_user=user,
            default_change_reason=CHANGE_REASON_REFLAG.format(cause=cause),
        )
    return len(changed)


def new_batch_id() -> str:
    """A short id naming one bulk operation in the history of every record it touched."""
    return uuid.uuid4().hex[:10]


def review_problem(*, donations, status: str, reason: str) -> str | None:
    """Why this review may not go through, or None: a rejection needs a reason (the liaison sees
    it), and so does verifying a donation with a rule flag (the reason resolves the flag)."""
    if (reason or "").strip():
        return None
    if status == Donation.Status.REJECTED:
        return ERROR_REASON_REJECT
    if status == Donation.Status.VERIFIED:
        flagged = [d.donor_name for d in donations if d.flags]
        if flagged:
            names = "、".join(flagged[:3]) + ("等" if len(flagged) > 3 else "")
            return ERROR_REASON_FLAGGED.format(names=names)
    return None


@transaction.atomic
def donations_review(*, donations, status: str, reviewer, reason: str = "") -> int:
    """Staff verify or reject donations, singly or in bulk; a reason resolves rule flags and is
    required to reject and to verify a flagged donation (`review_problem`: ValidationError).

    Each donation gets one history entry naming the review batch, so a bulk verification can
    be found whole in the audit trail.
    """
    pks = [d.pk for d in donations]
    rejected = Donation.Status.REJECTED

    def counting_changes(rows) -> set[str]:
        return {h for h, was in rows if (was == rejected) != (status == rejected)}

    # The people whose counted donations change are locked before any row (as every writer
    # does: `lock_people`, then rows), so a donor logged meanwhile is flagged against the result.
    lock_people(counting_changes(Donation.objects.filter(pk__in=pks).values_list("id_number_hash", "status")))
    rows = list(Donation.objects.filter(pk__in=pks).select_for_update())
    reason = (reason or "").strip()
    problem = review_problem(donations=rows, status=status, reason=reason)
    if problem:
        raise ValidationError(problem)
    now = timezone.now()
    fields = ["status", "reviewed_by", "reviewed_at"]
    # A rejected donation no longer counts: its neighbours' flags change, and back if un-rejected.
    recount = list(counting_changes((d.id_number_hash, d.status) for d in rows))
    for donation in rows:
        if status == rejected and donation.status != rejected:
            # The rule does not apply to a donation that does not count: its flags are cleared
            # (they stay in its history); un-rejected, `reflag` computes them again.
            donation.flags = []
        donation.status, donation.reviewed_by, donation.reviewed_at = status, reviewer, now
        if reason:
            donation.flag_resolution = reason
    if reason:
        fields.append("flag_resolution")
    if status == rejected:
        fields.append("flags")
    change = CHANGE_REASON_REVIEW.format(
        action=Donation.Status(status).label, batch=new_batch_id(), count=len(rows), reason=reason or "—"
    )
    bulk_update_with_history(
        rows, Donation, fields, batch_size=1000, default_user=reviewer, default_change_reason=change, default_date=now
    )
    if recount:
        reflag(recount, cause=CAUSE_REVIEWED.format(action=Donation.Status(status).label), user=reviewer)
    return len(rows)


def record_access(*, user, action: str, donation: Donation | None = None, detail: str = "") -> AccessEvent:
    """Record that someone saw a full ID number or exported a roster."""
    return AccessEvent.objects.create(user=user, action=action, donation=donation, detail=detail[:500])
