"""The ``request`` and ``outbox`` commands: erasure requests over time, and what to deliver."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, TypeAlias

import typer
from rich.table import Table

from member_anonymization.anonymizer import AnonymizationOptions
from member_anonymization.domain import (
    ErasureRequest,
    ExtensionReason,
    OutboxMessage,
    RejectionReason,
    RequestChannel,
    RequestStatus,
)
from member_anonymization.erasure import (
    NEAR_DEADLINE_DAYS,
    RequestAlreadyOpen,
    RequestCompleted,
    RequestDesk,
    RequestDetails,
    RequestExtended,
    RequestNotPermitted,
    RequestProcessor,
    RequestReceived,
    RequestRejected,
    RequestUnchanged,
    RequestView,
    RequestWithdrawn,
)
from member_anonymization.errors import FutureDateError
from member_anonymization.messages import Language, text

from . import _render
from ._app import (
    DEFAULT_LANG,
    EXIT_REFUSED,
    AsOf,
    Json,
    Lang,
    LangOpt,
    _ctx,
    command_group,
    err,
    exit_if_untouched,
    fail,
    id_list,
    out,
    parse_date,
    reported,
)
from ._failures import Outcome

request_app = command_group(
    "request", "Erasure requests: register, extend, withdraw, reject, process daily."
)
outbox_app = command_group("outbox", "Events and notices for your systems to deliver.")

Actor = Annotated[
    str, typer.Option("--actor", metavar="EMPLOYEE_ID", help="The employee doing it.")
]


def _options(lang: Language) -> AnonymizationOptions:
    return AnonymizationOptions(notice_language=lang)


def _desk(ctx: typer.Context, lang: Language) -> RequestDesk:
    return RequestDesk(_ctx(ctx).store().unit_of_work, options=_options(lang))


def _enum_value(kind: Any, value: str, option: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        fail(f"{option} must be one of: {allowed}")


def _parse_instant(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--received-at must be an ISO 8601 timestamp with an offset, got {value[:40]!r}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        fail("--received-at needs an offset (for example 2026-11-27T10:00:00+01:00)")
    return parsed


def _day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _not_permitted(
    result: RequestNotPermitted, as_json: bool, subject: dict[str, Any], lang: Language
) -> NoReturn:
    if as_json:
        _render.print_json(
            out, {**subject, "status": result.status, "permission": result.permission.value}
        )
    else:
        err.print(
            text(
                "cli.request.not_permitted",
                lang,
                actor_id=_render.shown(result.actor_id),
                permission=result.permission.value,
            ),
            markup=False,
        )
    raise typer.Exit(EXIT_REFUSED)


@request_app.command("add")
def add(
    ctx: typer.Context,
    member_id: Annotated[str, typer.Argument(metavar="MEMBER_ID")],
    actor: Actor,
    received_at: Annotated[
        str | None,
        typer.Option(
            "--received-at", metavar="INSTANT", help="When it reached the club (default: now)."
        ),
    ] = None,
    channel: Annotated[
        str,
        typer.Option("--channel", metavar="CHANNEL", help="desk, email, letter, app or other."),
    ] = "desk",
    anonymize: Annotated[
        bool, typer.Option("--anonymize", help="Carry it out at once when nothing blocks.")
    ] = False,
    as_json: Json = False,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Register a member's request to be forgotten."""
    with reported() as outcome:
        language: Language = lang.value
        via = _enum_value(RequestChannel, channel, "--channel")
        when = _parse_instant(received_at)
        try:
            result = _desk(ctx, language).receive(
                member_id, actor=actor, received_at=when, channel=via, anonymize=anonymize
            )
        except FutureDateError:
            if when is None:
                raise
            fail(
                f"--received-at {when.isoformat()} is later than now: a request cannot be "
                "received in the future"
            )
        match result:
            case RequestNotPermitted():
                _not_permitted(result, as_json, {"member_id": member_id}, language)
            case RequestAlreadyOpen(request=existing):
                if as_json:
                    _render.print_json(
                        out,
                        {
                            "request_id": existing.id,
                            "member_id": member_id,
                            "status": result.status,
                        },
                    )
                else:
                    err.print(
                        text(
                            "cli.request.already_open",
                            language,
                            request_id=_render.shown(existing.id),
                        ),
                        markup=False,
                    )
                raise typer.Exit(EXIT_REFUSED)
            case RequestReceived(request=request, eligibility=verdict, expected_on=expected):
                outcome.commit("request registered")
                payload = {
                    "request_id": request.id,
                    "member_id": request.member_id,
                    "status": request.status.value,
                    "received_on": request.received_on.isoformat(),
                    "deadline": request.current_deadline.isoformat(),
                    "eligible": verdict.eligible,
                    "blockers": _render.findings(verdict.blockers, language),
                    "expected_on": _day(expected),
                }
                if as_json:
                    _render.print_json(out, payload)
                    return
                out.print(
                    text(
                        "cli.request.received",
                        language,
                        request_id=_render.shown(request.id),
                        deadline=request.current_deadline,
                    ),
                    markup=False,
                )
                if verdict.blockers:
                    out.print(_render.findings_table("", verdict.blockers, (), language))
                if expected is not None:
                    out.print(
                        text("cli.request.expected", language, expected_on=expected), markup=False
                    )
                elif verdict.eligible:
                    out.print(text("cli.request.next_run", language), markup=False)
            case RequestCompleted(request=request, eligibility=verdict):
                outcome.commit("request registered and completed")
                if as_json:
                    _render.print_json(
                        out,
                        {
                            "request_id": request.id,
                            "member_id": request.member_id,
                            "status": request.status.value,
                            "received_on": request.received_on.isoformat(),
                            "deadline": request.current_deadline.isoformat(),
                            "eligible": verdict.eligible,
                            "blockers": _render.findings(verdict.blockers, language),
                            "expected_on": None,
                        },
                    )
                    return
                out.print(
                    text("cli.request.completed", language, request_id=_render.shown(request.id)),
                    markup=False,
                )


def _view_json(view: RequestView) -> dict[str, Any]:
    request = view.request
    return {
        "request_id": request.id,
        "member_id": request.member_id,
        "club_id": request.club_id,
        "status": request.status.value,
        "received_on": request.received_on.isoformat(),
        "deadline": request.current_deadline.isoformat(),
        "days_left": view.days_left if request.is_open else None,
        "overdue": view.overdue,
        "blockers": list(dict.fromkeys(b.code for b in view.blockers)),
        "expected_on": _day(view.expected_on),
    }


def _style(view: RequestView) -> str:
    if not view.request.is_open:
        return "dim"
    if view.overdue:
        return "bold red"
    if view.days_left <= NEAR_DEADLINE_DAYS:
        return "yellow"
    return ""


@request_app.command("list")
def list_requests(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option("--status", metavar="STATUS", help="open, completed, withdrawn or rejected."),
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open requests past their deadline.")
    ] = False,
    as_of: AsOf = None,
    as_json: Json = False,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """The register: deadlines and days left, overdue and nearly due first."""
    with reported():
        language: Language = lang.value
        wanted = None if status is None else _enum_value(RequestStatus, status, "--status")
        views = _desk(ctx, language).register(
            status=wanted, overdue=overdue, as_of=parse_date(as_of)
        )
        if as_json:
            _render.print_json(out, {"requests": [_view_json(v) for v in views]})
            return
        if not views:
            out.print(text("cli.request.none", language), markup=False)
            return
        table = Table(title_justify="left")
        for key in (
            "request",
            "member",
            "status",
            "received",
            "deadline",
            "days_left",
            "blockers",
            "expected",
        ):
            table.add_column(text(f"cli.request.column.{key}", language))
        for view in views:
            request = view.request
            table.add_row(
                _render.safe(request.id),
                _render.safe(request.member_id),
                text(f"cli.request.status.{request.status.value}", language),
                request.received_on.isoformat(),
                request.current_deadline.isoformat(),
                str(view.days_left) if request.is_open else "",
                _render.safe_text(", ".join(dict.fromkeys(b.code for b in view.blockers))),
                _day(view.expected_on) or "",
                style=_style(view),
            )
        out.print(table)


def _message_json(message: OutboxMessage) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "message_id": message.id,
        "kind": message.kind.value,
        "member_id": message.member_id,
        "request_id": message.request_id,
        "created_at": message.created_at.isoformat(),
    }
    if message.mode is not None:
        payload["mode"] = message.mode.value
    if message.notice is not None:
        payload["notice"] = {
            "kind": message.notice.kind.value,
            "language": message.notice.language,
            "subject": message.notice.subject,
            "body": message.notice.body,
        }
    payload["delivered_at"] = (
        None if message.delivered_at is None else message.delivered_at.isoformat()
    )
    return payload


def _request_json(request: ErasureRequest) -> dict[str, Any]:
    extension = request.extension
    return {
        "request_id": request.id,
        "member_id": request.member_id,
        "club_id": request.club_id,
        "status": request.status.value,
        "channel": request.channel.value,
        "received_at": request.received_at.isoformat(),
        "received_on": request.received_on.isoformat(),
        "registered_by": request.registered_by,
        "deadline": request.current_deadline.isoformat(),
        "first_deadline": request.deadline.isoformat(),
        "extension": None
        if extension is None
        else {
            "deadline": extension.deadline.isoformat(),
            "reason": extension.reason.value,
            "at": extension.at.isoformat(),
            "by": extension.by,
        },
        "closed_at": None if request.closed_at is None else request.closed_at.isoformat(),
        "closed_by": request.closed_by,
        "rejection_reason": None
        if request.rejection_reason is None
        else request.rejection_reason.value,
        "audit_entry_id": request.audit_entry_id,
    }


@request_app.command("show")
def show(
    ctx: typer.Context,
    request_id: RequestIdArg,
    as_of: AsOf = None,
    as_json: Json = False,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """One request, its history and its notices."""
    with reported():
        language: Language = lang.value
        details = _desk(ctx, language).show(request_id, as_of=parse_date(as_of))
        if as_json:
            _render.print_json(out, _details_json(details, language))
            return
        _print_details(details, language)


def _details_json(details: RequestDetails, lang: Language) -> dict[str, Any]:
    view = details.view
    payload = _request_json(view.request)
    payload.update(
        {
            "days_left": view.days_left if view.request.is_open else None,
            "overdue": view.overdue,
            "blockers": _render.findings(view.blockers, lang),
            "expected_on": _day(view.expected_on),
            "history": [{"at": at.isoformat(), "event": event} for at, event in details.history],
            "messages": [_message_json(m) for m in details.messages],
        }
    )
    return payload


def _print_details(details: RequestDetails, lang: Language) -> None:
    view = details.view
    request = view.request
    out.print(
        text(
            "cli.request.headline",
            lang,
            request_id=_render.shown(request.id),
            member_id=_render.shown(request.member_id),
            status=text(f"cli.request.status.{request.status.value}", lang),
        ),
        markup=False,
    )
    if not request.is_open:
        key = "cli.request.dates_closed"
    elif view.overdue:
        key = "cli.request.dates_overdue"
    else:
        key = "cli.request.dates"
    out.print(
        text(
            key,
            lang,
            received_on=request.received_on,
            deadline=request.current_deadline,
            days_left=view.days_left,
            days=-view.days_left,
        ),
        markup=False,
    )
    if view.blockers:
        out.print(_render.findings_table("", view.blockers, (), lang))
    if view.expected_on is not None:
        out.print(text("cli.request.expected", lang, expected_on=view.expected_on), markup=False)
    out.print(text("cli.request.history", lang), markup=False)
    for at, event in details.history:
        out.print(f"  {at.isoformat()}  {text(f'cli.request.event.{event}', lang)}", markup=False)
    for message in details.messages:
        if message.notice is None:
            continue
        delivered = (
            text("cli.outbox.pending", lang)
            if message.delivered_at is None
            else message.delivered_at.isoformat()
        )
        out.print(f"\n[bold]{_render.safe_text(message.notice.subject)}[/] ({delivered})")
        out.print(_render.clean(message.notice.body, newlines=True), markup=False)


RequestIdArg = Annotated[str, typer.Argument(metavar="REQUEST_ID")]
ExtensionReasonOpt = Annotated[
    str, typer.Option("--reason", metavar="REASON", help="complexity or number_of_requests.")
]
RejectionReasonOpt = Annotated[
    str,
    typer.Option(
        "--reason",
        metavar="REASON",
        help="identity_not_verified, manifestly_unfounded or excessive.",
    ),
]
_Change: TypeAlias = (
    RequestExtended | RequestWithdrawn | RequestRejected | RequestUnchanged | RequestNotPermitted
)


@request_app.command("extend")
def extend(
    ctx: typer.Context,
    request_id: RequestIdArg,
    actor: Actor,
    reason: ExtensionReasonOpt,
    as_json: Json = False,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Extend the deadline once, before it passes (to three months after receipt)."""

    def act(desk: RequestDesk) -> _Change:
        why = _enum_value(ExtensionReason, reason, "--reason")
        return desk.extend(request_id, actor=actor, reason=why)

    _change(ctx, request_id, as_json, lang, act)


@request_app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    request_id: RequestIdArg,
    actor: Actor,
    as_json: Json = False,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Record that the member withdrew the request (it is never carried out)."""
    _change(ctx, request_id, as_json, lang, lambda desk: desk.withdraw(request_id, actor=actor))


@request_app.command("reject")
def reject(
    ctx: typer.Context,
    request_id: RequestIdArg,
    actor: Actor,
    reason: RejectionReasonOpt,
    as_json: Json = False,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Reject the request with a reason (the member is told, with their rights)."""

    def act(desk: RequestDesk) -> _Change:
        why = _enum_value(RejectionReason, reason, "--reason")
        return desk.reject(request_id, actor=actor, reason=why)

    _change(ctx, request_id, as_json, lang, act)


def _change(
    ctx: typer.Context,
    request_id: str,
    as_json: bool,
    lang: Lang,
    act: Callable[[RequestDesk], _Change],
) -> None:
    """Make one change to a request through the desk and print its outcome."""
    with reported() as outcome:
        language: Language = lang.value
        _print_change(act(_desk(ctx, language)), request_id, as_json, language, outcome)


def _print_change(
    result: _Change,
    request_id: str,
    as_json: bool,
    lang: Language,
    outcome: Outcome,
) -> None:
    if isinstance(result, RequestNotPermitted):
        _not_permitted(result, as_json, {"request_id": request_id}, lang)
    request = result.request
    payload: dict[str, Any] = {
        "request_id": request.id,
        "status": request.status.value,
        "deadline": request.current_deadline.isoformat(),
    }
    if isinstance(result, RequestUnchanged):
        payload["refused"] = result.reason
        if as_json:
            _render.print_json(out, payload)
        else:
            err.print(
                text(
                    f"cli.request.refused.{result.reason}",
                    lang,
                    request_id=_render.shown(request.id),
                ),
                markup=False,
            )
        raise typer.Exit(EXIT_REFUSED)
    outcome.commit(f"request {result.status}")
    if request.extension is not None:
        payload["extension_reason"] = request.extension.reason.value
    if request.rejection_reason is not None:
        payload["rejection_reason"] = request.rejection_reason.value
    if as_json:
        _render.print_json(out, payload)
        return
    out.print(
        text(
            f"cli.request.changed.{result.status}",
            lang,
            request_id=_render.shown(request.id),
            deadline=request.current_deadline,
        ),
        markup=False,
    )


@request_app.command("process")
def process(
    ctx: typer.Context,
    as_of: AsOf = None,
    as_json: Json = False,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Deferred anonymizations, deadline reminders and missing notices (run it daily)."""
    with reported() as outcome:
        language: Language = lang.value
        day = parse_date(as_of)
        processor = RequestProcessor(_ctx(ctx).store().unit_of_work, options=_options(language))
        report = processor.run(as_of=day)
        if report.completed or report.reminders or report.notices:
            outcome.commit("processing run")
        if as_json:
            payload = report.as_json()
            keys = ("as_of", "completed", "still_open", "reminders", "notices")
            _render.print_json(
                out,
                {
                    **{key: payload[key] for key in keys},
                    **(
                        {"held_elsewhere": payload["held_elsewhere"]}
                        if report.held_elsewhere
                        else {}
                    ),
                },
            )
        else:
            out.print(
                text(
                    "cli.request.processed",
                    language,
                    as_of=report.as_of,
                    completed=len(report.completed),
                    still_open=len(report.still_open),
                    reminders=report.reminders,
                    notices=report.notices,
                ),
                markup=False,
            )
            if report.held_elsewhere:
                held = text(
                    "cli.request.held_elsewhere",
                    language,
                    count=len(report.held_elsewhere),
                    requests=id_list(report.held_elsewhere, 20),
                )
                out.print(held, markup=False)
        exit_if_untouched(report.errors, "request(s)")


@outbox_app.command("list")
def outbox_list(ctx: typer.Context, as_json: Json = False) -> None:
    """Pending events and notices, oldest first."""
    with reported():
        with _ctx(ctx).store().unit_of_work() as uow:
            pending = list(uow.outbox.pending())
        if as_json:
            _render.print_json(out, {"messages": [_message_json(m) for m in pending]})
            return
        if not pending:
            out.print("Nothing to deliver.", markup=False)
            return
        table = Table(title_justify="left")
        for column in ("Message", "Kind", "Member", "Request", "Created", "Subject"):
            table.add_column(column)
        for message in pending:
            table.add_row(
                _render.safe(message.id),
                message.kind.value
                if message.notice is None
                else f"notice: {message.notice.kind.value}",
                _render.safe(message.member_id),
                _render.safe(message.request_id or ""),
                message.created_at.isoformat(),
                _render.safe_text(message.notice.subject) if message.notice is not None else "",
            )
        out.print(table)


@outbox_app.command("ack")
def outbox_ack(
    ctx: typer.Context,
    message_ids: Annotated[list[str], typer.Argument(metavar="MESSAGE_ID...")],
    as_json: Json = False,
) -> None:
    """Mark messages delivered (unknown ids reject the whole call)."""
    with reported() as outcome:
        store = _ctx(ctx).store()
        from member_anonymization._clock import SystemClock

        with store.unit_of_work() as uow:
            unknown = [m for m in dict.fromkeys(message_ids) if uow.outbox.get(m) is None]
            if unknown:
                shown = ", ".join(_render.quoted(m) for m in unknown[:5])
                fail(f"no outbox message with id {shown}; nothing was marked")
            done = list(uow.outbox.mark_delivered(message_ids, SystemClock().now()))
            uow.commit()
        outcome.commit("messages marked delivered")
        if as_json:
            _render.print_json(out, {"delivered": done})
        else:
            out.print(f"Marked {len(done)} message(s) delivered.", markup=False)
