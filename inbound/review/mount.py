"""Putting the review pages (/review) and the JSON API (/api) into a process's HTTP server."""

from __future__ import annotations

from aiohttp import web

from inbound.config import Settings
from inbound.review.api import api_app
from inbound.review.desk import Desk
from inbound.review.site import TRUSTED_PROXIES
from inbound.review.web import review_app


def mount_review(app: web.Application, desk: Desk, settings: Settings) -> None:
    """Add /review and /api to the app, both served by one desk."""
    # Both record the client's address: behind INBOUND_TRUSTED_PROXIES, from X-Forwarded-For.
    app[TRUSTED_PROXIES] = tuple(settings.trusted_proxies)
    app.add_subapp("/review", review_app(desk, settings))
    app.add_subapp("/api", api_app(desk))
