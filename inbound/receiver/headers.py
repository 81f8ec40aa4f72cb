"""Headers on every answer a listener gives: `Server: inbound` without versions, and HSTS where it
is wanted.

aiohttp names itself and Python, with versions, in a `Server` header on every answer, including
the ones it gives before any application runs (a request line it can't parse: a scanner's
favourite probe), where no application hook is called. It reads the name from a module constant
each time it answers, so that constant is replaced, for the whole process, when an application
is built. HSTS is added in each application's response-prepare signal, which aiohttp fires for
every answer of the application and of the sub-applications mounted on it (the staff pages, the
API, static files, the router's own 404s and 405s).
"""

from __future__ import annotations

from aiohttp import hdrs, web, web_response

from inbound.config import Settings

SERVER = "inbound"
# One year, the usual minimum for a preload-list entry; without includeSubDomains, since other
# hosts under the same domain aren't inbound's to pin to HTTPS.
HSTS = "max-age=31536000"


def hsts_wanted(settings: Settings) -> bool:
    """INBOUND_HSTS when set; otherwise on when providers reach us over HTTPS."""
    if settings.hsts is not None:
        return settings.hsts
    return (settings.public_url or "").lower().startswith("https://")


def stamp_headers(app: web.Application, *, hsts: bool) -> None:
    """Name the server `inbound` (no versions) on every answer in this process, and add
    Strict-Transport-Security to every answer of `app` when `hsts`."""
    # Checked by tests/integration/test_response_headers.py, including a malformed request:
    # if aiohttp stops reading this constant, that test fails.
    web_response.SERVER_SOFTWARE = SERVER  # type: ignore[attr-defined]  # imported, not exported
    if not hsts:
        return

    async def stamp(_: web.Request, response: web.StreamResponse) -> None:
        response.headers[hdrs.STRICT_TRANSPORT_SECURITY] = HSTS

    app.on_response_prepare.append(stamp)
