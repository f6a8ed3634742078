"""The retention rule and the bulk retention job.

A club may set "remove data X months after the end of the contract"
(:class:`~member_anonymization.domain.RetentionSetting`). A member is **due**
on the date ``D`` when ``D >= add_months(last_end, X)``, where:

* ``X`` is the setting of the member's **home club** (no setting: never due);
* ``last_end`` is the latest effective end of the member's contracts in
  **every club of the network**, ignoring contracts cancelled before their
  start; an open-ended contract means never due; a member who never had a
  contract counts from their registration date;
* an anonymized member is never due.

:func:`due_threshold` turns that rule into a single date per club, so that an
adapter selects the due members with ``last_end <= threshold``.

:class:`RetentionSweep` anonymizes every due member in batches, each batch in
one unit of work, through the same policy and the same effects as the manual
path.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, final

import attrs

from member_anonymization._access import not_after_today, reading
from member_anonymization._effects import apply_anonymization
from member_anonymization._service import BatchedService, settle_batch
from member_anonymization.anonymizer import AnonymizationOptions
from member_anonymization.domain import (
    AnonymizationMode,
    Club,
    ClubId,
    Contract,
    Member,
    MemberId,
)
from member_anonymization.domain.calendar import add_months, month_length
from member_anonymization.errors import UnknownClubError
from member_anonymization.policy import Blocker, Eligibility, MemberFacts, evaluate
from member_anonymization.ports import UnitOfWork

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "FailedMember",
    "RetentionSweep",
    "SkippedMember",
    "SweepProgress",
    "SweepReport",
    "add_months",
    "due_on",
    "due_threshold",
    "is_due",
    "last_contract_end",
]

DEFAULT_BATCH_SIZE: Final = 500
"""How many members one unit of work of the sweep handles by default."""

_COUNT_PAGE: Final = 10_000

_log = logging.getLogger(__name__)


def due_threshold(as_of: dt.date, months: int) -> dt.date:
    """The latest last contract end that is due on ``as_of``.

    For every date ``e``: ``e <= due_threshold(as_of, months)`` exactly when
    ``as_of >= add_months(e, months)``. Because of the clamping, every day from
    the 28th on of a month can become due on the last day of a later, shorter
    month: ``due_threshold(date(2024, 2, 29), 6) == date(2023, 8, 31)`` while
    ``due_threshold(date(2024, 2, 28), 6) == date(2023, 8, 28)``.

    Raises:
        ValueError: The threshold falls before the year 1.
    """
    back = add_months(as_of, -months)
    if as_of.day == month_length(as_of.year, as_of.month):
        return back.replace(day=month_length(back.year, back.month))
    return back


def last_contract_end(member: Member, contracts: Iterable[Contract]) -> dt.date | None:
    """The date the member's retention time counts from.

    The latest effective end of the member's contracts (pass those of every
    club of the network), ignoring contracts cancelled before their start; the
    registration date when there is no such contract; ``None`` when a contract
    is open-ended (the member is never due).

    Raises:
        ValueError: A contract belongs to another member.
    """
    latest: dt.date | None = None
    open_ended = False
    for contract in contracts:
        if contract.member_id != member.id:
            raise ValueError(f"contract {contract.id!r} is not one of member {member.id!r}")
        if contract.is_cancelled:
            continue
        end = contract.effective_end
        if end is None:
            open_ended = True
        elif latest is None or end > latest:
            latest = end
    if open_ended:
        return None
    return member.registered_on if latest is None else latest


def due_on(member: Member, contracts: Iterable[Contract], club: Club) -> dt.date | None:
    """The first date on which the member is due for retention, or ``None`` for never.

    Args:
        member: The member.
        contracts: The member's contracts in every club of the network.
        club: The member's home club, whose retention setting applies.

    Raises:
        ValueError: ``club`` is not the member's home club, or a contract
            belongs to another member.
    """
    if club.id != member.home_club_id:
        raise ValueError(f"club {club.id!r} is not the home club of member {member.id!r}")
    end = last_contract_end(member, contracts)
    if member.is_anonymized or club.retention is None or end is None:
        return None
    try:
        return add_months(end, club.retention.months_after_contract_end)
    except ValueError:
        return None  # beyond the calendar: never


def is_due(member: Member, contracts: Iterable[Contract], club: Club, as_of: dt.date) -> bool:
    """Whether the member is due for retention on ``as_of`` (see :func:`due_on`)."""
    day = due_on(member, contracts, club)
    return day is not None and as_of >= day


@final
@attrs.frozen(kw_only=True)
class SkippedMember:
    """A due member whom blockers kept; nothing of theirs was touched.

    Attributes:
        blockers: Every blocker that applied, in report order.
    """

    member_id: MemberId
    blockers: tuple[Blocker, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        """The blocker codes, in report order, without repeats."""
        return tuple(dict.fromkeys(b.code for b in self.blockers))


@final
@attrs.frozen(kw_only=True)
class FailedMember:
    """A due member whose unit of work failed; nothing of theirs was changed.

    Attributes:
        error_type: The exception's class name. Never its message, which could
            hold personal data.
    """

    member_id: MemberId
    error_type: str


@final
@attrs.frozen(kw_only=True)
class SweepProgress:
    """How far a sweep has come, reported after every batch.

    The sweep pages through the due members, so their total is not known in
    advance.

    Attributes:
        done: Due members handled so far (anonymized, skipped, failed or held
            by another worker).
        anonymized: Members anonymized so far (in a dry run: who would be).
        skipped: Members that blockers kept so far.
        failed: Members whose unit of work failed so far.
    """

    done: int
    anonymized: int
    skipped: int
    failed: int


@final
@attrs.frozen(kw_only=True)
class SweepReport:
    """What a sweep did (in a dry run: what it would do).

    ``due == len(anonymized) + len(skipped) + len(errors) + len(held_elsewhere)``.

    Attributes:
        as_of: The date of the sweep: the date given, or else the earliest
            local date among the clubs in scope when the sweep started (each
            club's members are judged by their home club's own local date).
        dry_run: Whether nothing was changed on purpose.
        due: Members whose retention time had passed.
        anonymized: Their ids, sorted: anonymized (in a dry run: would be).
        skipped: Due members that blockers kept, by id.
        errors: Due members whose unit of work failed even alone, by id.
        held_elsewhere: Due members another worker held locked, sorted; the
            next run takes them if they are still due.
    """

    as_of: dt.date
    dry_run: bool
    due: int
    anonymized: tuple[MemberId, ...] = ()
    skipped: tuple[SkippedMember, ...] = ()
    errors: tuple[FailedMember, ...] = ()
    held_elsewhere: tuple[MemberId, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The report as the JSON object of ``sweep --json`` (ready for ``json.dumps``).

        The keys ``as_of``, ``dry_run``, ``due``, ``anonymized`` and ``skipped``
        are always present; ``errors`` (``[{"member_id", "error"}]``) and
        ``held_elsewhere`` (ids) only when they are not empty.
        """
        out: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "due": self.due,
            "anonymized": list(self.anonymized),
            "skipped": [
                {"member_id": s.member_id, "blockers": list(s.codes)} for s in self.skipped
            ],
        }
        if self.errors:
            out["errors"] = [{"member_id": e.member_id, "error": e.error_type} for e in self.errors]
        if self.held_elsewhere:
            out["held_elsewhere"] = list(self.held_elsewhere)
        return out


@final
@attrs.frozen(kw_only=True)
class _Plan:
    """What a run decided up front: the dates per club and the query's thresholds."""

    as_of: dt.date
    dates: Mapping[ClubId, dt.date]
    thresholds: Mapping[ClubId, dt.date]


@attrs.define
class _Outcome:
    """What happened to the members of one or more batches."""

    anonymized: list[MemberId] = attrs.Factory(list)
    skipped: list[SkippedMember] = attrs.Factory(list)
    errors: list[FailedMember] = attrs.Factory(list)
    held_elsewhere: list[MemberId] = attrs.Factory(list)

    @property
    def done(self) -> int:
        return (
            len(self.anonymized) + len(self.skipped) + len(self.errors) + len(self.held_elsewhere)
        )

    def merge(self, other: _Outcome) -> None:
        self.anonymized.extend(other.anonymized)
        self.skipped.extend(other.skipped)
        self.errors.extend(other.errors)
        self.held_elsewhere.extend(other.held_elsewhere)

    def progress(self) -> SweepProgress:
        return SweepProgress(
            done=self.done,
            anonymized=len(self.anonymized),
            skipped=len(self.skipped),
            failed=len(self.errors),
        )

    def report(self, *, as_of: dt.date, dry_run: bool) -> SweepReport:
        return SweepReport(
            as_of=as_of,
            dry_run=dry_run,
            due=self.done,
            anonymized=tuple(sorted(self.anonymized)),
            skipped=tuple(sorted(self.skipped, key=lambda s: s.member_id)),
            errors=tuple(sorted(self.errors, key=lambda e: e.member_id)),
            held_elsewhere=tuple(sorted(self.held_elsewhere)),
        )


@final
class RetentionSweep(BatchedService[AnonymizationOptions]):
    """The bulk retention job: anonymizes every member whose retention time passed.

    Each batch is one unit of work: lock the batch (skipping members another
    worker holds), load the facts, re-check that each member is still due,
    evaluate the same policy as the manual path, anonymize the eligible ones,
    commit. A failing batch is rolled back and redone one member per unit of
    work. Between batches nothing is kept but the paging cursor, so several
    workers may run at once and a killed sweep is finished by the next run.

    Args:
        unit_of_work: Opens a fresh unit of work for each batch.
        clock: The current time (its instant is stored; "today" is each home
            club's local date of the instant the run started).
        options: The club's options, as for the manual path.
        batch_size: How many members one unit of work handles.
    """

    _default_options = AnonymizationOptions
    default_batch_size = DEFAULT_BATCH_SIZE

    def run(
        self,
        *,
        as_of: dt.date | None = None,
        club_id: ClubId | None = None,
        dry_run: bool = False,
        progress: Callable[[SweepProgress], None] | None = None,
    ) -> SweepReport:
        """Anonymize every due member; skip and report the blocked ones.

        Args:
            as_of: "Today" for every club; by default each home club's local
                date when the run starts.
            club_id: Only members whose home club is this club.
            dry_run: Report what a run would do; take no lock, change nothing
                (it reads in read-only units of work when the factory offers
                them, see :class:`~member_anonymization.ports.ReadOnlyUnitOfWorkFactory`).
            progress: Called after every batch with the running counts.

        Returns:
            The report. Members not yet due appear nowhere in it.

        Raises:
            UnknownClubError: ``club_id`` names no club of the network.
            FutureDateError: A real run (not a dry run) was given a date
                later than the local date today of a club in scope.
        """
        plan = self._plan(as_of, club_id, refuse_future=not dry_run)
        total = _Outcome()
        cursor: MemberId | None = None
        while plan.thresholds:
            ids, outcome = self._next_batch(plan, cursor, dry_run=dry_run)
            if not ids:
                break
            total.merge(outcome)
            if progress is not None:
                progress(total.progress())
            if len(ids) < self._batch_size or (cursor is not None and ids[-1] <= cursor):
                break  # the last page, or an adapter that ignores ``after``: never loop
            cursor = ids[-1]
        return total.report(as_of=plan.as_of, dry_run=dry_run)

    def count_due(self, *, as_of: dt.date | None = None, club_id: ClubId | None = None) -> int:
        """How many members are due now (for a progress bar's total). Changes nothing.

        It pages through the due ids without loading any member, so it costs a
        few cheap queries (in read-only units of work when the factory offers
        them); members may become due or be done meanwhile.

        Raises:
            UnknownClubError: ``club_id`` names no club of the network.
        """
        plan = self._plan(as_of, club_id)
        count = 0
        cursor: MemberId | None = None
        page = max(self._batch_size, _COUNT_PAGE)
        while plan.thresholds:
            with reading(self._uow)() as uow:
                ids = list(
                    uow.retention.due_members(thresholds=plan.thresholds, after=cursor, limit=page)
                )
            count += len(ids)
            if len(ids) < page:
                break
            cursor = ids[-1]
        return count

    def _plan(
        self, as_of: dt.date | None, club_id: ClubId | None, *, refuse_future: bool = False
    ) -> _Plan:
        with reading(self._uow)() as uow:
            clubs = dict(uow.clubs.network_clubs())
        if club_id is not None:
            if club_id not in clubs:
                raise UnknownClubError(club_id)
            clubs = {club_id: clubs[club_id]}
        now = self._clock.now()
        if as_of is not None and refuse_future:
            for club in clubs.values():
                not_after_today(as_of, club, now)
        dates = {
            cid: club.local_date(now) if as_of is None else as_of for cid, club in clubs.items()
        }
        thresholds: dict[ClubId, dt.date] = {}
        for cid, club in clubs.items():
            if club.retention is not None:
                months = club.retention.months_after_contract_end
                try:
                    thresholds[cid] = due_threshold(dates[cid], months)
                except ValueError:
                    continue  # before the calendar began: nobody can be due
        if as_of is None:
            as_of = min(dates.values()) if dates else now.astimezone(dt.UTC).date()
        return _Plan(
            as_of=as_of,
            dates={cid: dates[cid] for cid in thresholds},
            thresholds=thresholds,
        )

    def _next_batch(
        self, plan: _Plan, cursor: MemberId | None, *, dry_run: bool
    ) -> tuple[Sequence[MemberId], _Outcome]:
        """Fetch and settle the next page of due members; redo it alone on failure."""
        open_unit = reading(self._uow) if dry_run else self._uow

        def fetch(uow: UnitOfWork) -> list[MemberId]:
            due = uow.retention.due_members(
                thresholds=plan.thresholds, after=cursor, limit=self._batch_size
            )
            return list(due)

        def failed(outcome: _Outcome, member_id: MemberId, exc: Exception) -> None:
            outcome.errors.append(FailedMember(member_id=member_id, error_type=type(exc).__name__))

        return settle_batch(
            open_unit,
            fetch,
            lambda uow, ids: self._settle(uow, ids, plan, dry_run=dry_run),
            empty=_Outcome,
            failed=failed,
            what="retention",
            log=_log,
        )

    def _settle(
        self, uow: UnitOfWork, ids: Sequence[MemberId], plan: _Plan, *, dry_run: bool
    ) -> _Outcome:
        """Lock, re-check, evaluate and (unless a dry run) anonymize, then commit."""
        outcome = _Outcome()
        held = list(ids)
        if not dry_run:
            held = list(uow.members.lock(ids, skip_locked=True))
            locked = set(held)
            outcome.held_elsewhere.extend(m for m in ids if m not in locked)
        if not held:
            return outcome
        clubs = uow.clubs.network_clubs()
        facts = uow.facts.load_facts(held)
        eligible: list[tuple[MemberFacts, Eligibility]] = []
        for member_id in held:
            member_facts = facts.get(member_id)
            if member_facts is None:
                continue
            day = self._still_due(member_facts, clubs, plan)
            if day is None:
                continue  # done by another worker meanwhile, or no longer due
            verdict = evaluate(member_facts, clubs=clubs, as_of=day)
            if verdict.eligible:
                eligible.append((member_facts, verdict))
            else:
                outcome.skipped.append(
                    SkippedMember(member_id=member_id, blockers=verdict.blockers)
                )
        outcome.anonymized.extend(f.member_id for f, _ in eligible)
        if eligible and not dry_run:
            apply_anonymization(
                uow,
                eligible,
                at=self._clock.now(),
                mode=AnonymizationMode.RETENTION,
                actor_id=None,
                options=self._options,
            )
            uow.commit()
        return outcome

    @staticmethod
    def _still_due(facts: MemberFacts, clubs: Mapping[ClubId, Club], plan: _Plan) -> dt.date | None:
        """The home club's date when the member is still due on it, else ``None``."""
        home = facts.member.home_club_id
        day = plan.dates.get(home)
        club = clubs.get(home)
        if day is None or club is None or not is_due(facts.member, facts.contracts, club, day):
            return None
        return day
