"""Putting the review pages (/review) and the JSON API (/api) into a process's HTTP server."""

from __future__ import annotations

from aiohttp import web

from inbound.config import Settings
from inbound.review.api import api_app
from inbound.review.desk import Desk
from inbound.review.received_texts_api import ReceivedTextsState, notify_app
from inbound.review.secret_box import SecretBox, SecretKeyError, box_for
from inbound.review.site import TRUSTED_PROXIES
from inbound.review.web import review_app


def mount_review(app: web.Application, desk: Desk, settings: Settings) -> None:
    """Add /review and /api to the app, both served by one desk."""
    # Both record the client's address: behind INBOUND_TRUSTED_PROXIES, from X-Forwarded-For.
    app[TRUSTED_PROXIES] = tuple(settings.trusted_proxies)
    app.add_subapp("/review", review_app(desk, settings))
    received = ReceivedTextsState(desk, _notify_box(settings), settings.public_url)
    app.add_subapp("/api", api_app(desk, received, settings.rules_dir))
    # Notify's own path: its clients call /v2/... below whatever base URL they are given.
    app.add_subapp("/v2", notify_app(received))


def _notify_box(settings: Settings) -> SecretBox | None:
    """What opens the secrets of API keys in Notify's format: the review pages' box (the same
    INBOUND_SECRET_KEY, or a local SQLite install's key file). None when there is neither; the
    review pages have refused to start by then, so this is for a process serving the API only."""
    secret_key = settings.secret_key.get_secret_value() if settings.secret_key else None
    try:
        return box_for(secret_key, settings.database_url).box
    except SecretKeyError:
        return None
