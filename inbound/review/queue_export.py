"""The review queue as a CSV file (/review/queue.csv): the rows the queue page's filter selects,
every page of them, for a spreadsheet.

Numbers are masked as on every page. A cell a spreadsheet would run as a formula (starting with
`=`, `+`, `-`, `@`, a tab or a carriage return: OWASP's list) is written with a leading `'`, so a
text such as "=HYPERLINK(...)" sent by anyone with a phone stays text when a caseworker opens it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from aiohttp import web

from inbound import phone
from inbound.review.desk import Desk, NotFound, reason_groups
from inbound.review.parameters import BadParameter
from inbound.review.site import WEB, client_address, redirect, render, signed_in
from inbound.store.review import QueueFilter, QueueRow, ReviewQueue
from inbound.store.users import Audit, Scope

# Rows read a query: a page a round trip, and the response written as each page comes.
EXPORT_PAGE = 1_000

HEADER = (
    "item",
    "service",
    "state",
    "received",
    "from",
    "text",
    "reason",
    "claimed by",
)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """The value as a spreadsheet will show it, never run it: a leading `'` before a formula."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def csv_row(row: QueueRow, service_name: str) -> list[str]:
    """One queue row's cells, in HEADER's order, masked and neutralised."""
    cells = (
        str(row.item.id),
        service_name,
        row.item.state,
        _when(row.message.accepted_at),
        phone.mask(row.message.sender),
        row.message.text if row.message.text is not None else "(purged after retention)",
        row.item.reason,
        row.claimed_by or "",
    )
    return [csv_cell(cell) for cell in cells]


def csv_lines(rows: Sequence[Sequence[str]]) -> str:
    """Rows as CSV text (RFC 4180: quoted where needed, CRLF line ends)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


async def queue_rows(
    desk: Desk, scope: Scope, wanted: QueueFilter, address: str | None
) -> AsyncIterator[list[QueueRow]]:
    """The filtered queue a page at a time, oldest first; NotFound for another service's queue.

    The export is audited once, before the first row leaves."""
    if wanted.service is not None and not scope.can_see(wanted.service):
        raise NotFound
    async with desk.sessions.begin() as session:
        await Audit(session).record(
            "export_queue", user_id=scope.user_id, service_id=wanted.service, address=address
        )
        if wanted.reason:  # a reason group's words, as the queue's links give them
            _, wanted = await reason_groups(session, scope, wanted)
    after = wanted.after
    while True:
        async with desk.sessions() as session:
            page = await ReviewQueue(session).page(
                scope, replace(wanted, after=after), size=EXPORT_PAGE, counted=False
            )
        yield page.rows
        if page.next_after is None:
            return
        after = page.next_after


def file_name(wanted: QueueFilter, today: str) -> str:
    """The download's name: the service (when filtered to one) and the day."""
    return f"review-queue-{wanted.service or 'all'}-{today}.csv"


QueueFilterParser = Callable[[Mapping[str, str]], QueueFilter]


def queue_csv(parse: QueueFilterParser) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The handler for GET /review/queue.csv, reading the filter as the queue page does."""

    async def handler(request: web.Request) -> web.StreamResponse:
        scope = signed_in(request)
        if scope is None:
            return redirect("/review/sign-in")
        try:
            wanted = parse(request.query)
        except BadParameter as bad:
            message = f"The queue can't be downloaded for {bad.name}=: {bad.why}."
            return render(request, "bad_request.html", 400, message=message)
        desk = request.app[WEB].desk
        pages = queue_rows(desk, scope, wanted, client_address(request))
        try:
            first = await anext(pages)
        except NotFound:
            return render(request, "not_found.html", 404)
        rules = desk.rules()

        def cells(row: QueueRow) -> list[str]:
            found = rules.service(row.item.service_id) if row.item.service_id else None
            return csv_row(row, found.service.name if found else row.item.service_id or "")

        today = datetime.now(UTC).date().isoformat()
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{file_name(wanted, today)}"',
            }
        )
        await response.prepare(request)
        # A byte-order mark, so a spreadsheet reads the file as UTF-8, not the local code page.
        await response.write(("\ufeff" + csv_lines([HEADER])).encode())
        await response.write(csv_lines([cells(row) for row in first]).encode())
        async for rows in pages:
            await response.write(csv_lines([cells(row) for row in rows]).encode())
        await response.write_eof()
        return response

    return handler
