"""Putting the review pages (/review) and the JSON API (/api) into a process's HTTP server."""

from __future__ import annotations

from contextlib import AsyncExitStack

from aio_pika.abc import AbstractRobustConnection
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.actions.plan import EffectPolicy
from inbound.actions.queue import ActionQueue
from inbound.broker.topology import BrokerNames
from inbound.config import Settings
from inbound.review.api import api_app
from inbound.review.desk import Desk
from inbound.review.web import review_app
from inbound.rules.compiled import RulesInForce
from inbound.store.database import session_factory


async def mount_review(
    app: web.Application,
    settings: Settings,
    engine: AsyncEngine,
    connection: AbstractRobustConnection,
    names: BrokerNames,
    rules: RulesInForce,
    stack: AsyncExitStack,
) -> None:
    """Add /review and /api to the app; decisions hand their actions to RabbitMQ."""
    queue = await ActionQueue.open(
        connection, names, settings.retry_delays, within=settings.publish_timeout
    )
    stack.push_async_callback(queue.close)
    desk = Desk(
        session_factory(engine),
        rules,
        queue,
        EffectPolicy(reply_cap_per_hour=settings.reply_cap_per_hour),
    )
    app.add_subapp("/review", review_app(desk, settings))
    app.add_subapp("/api", api_app(desk))
