"""Baselines: the least any receiver or worker must do, on the same RabbitMQ queues.

    .venv/bin/python bench/baseline.py serve --port P --amqp-url U --namespace NS
    .venv/bin/python bench/baseline.py consume --messages N --amqp-url U --namespace NS

`serve` is a minimal aiohttp handler: parse the form, publish it persistent and mandatory to the
same quorum queue inbound declares, wait for the publisher confirm, answer empty TwiML. No
signature, no normalisation, no validation, no logging, no metrics.

`consume` takes N messages already on the received queue with inbound's prefetch and acks each:
what RabbitMQ allows a worker before any database work. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from aiohttp import web

from inbound.broker.topology import RECEIVED, BrokerNames, declare

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
DELIVERY_LIMIT = 5  # inbound's default: the queue must be declared with the same arguments


async def serve(port: int, amqp_url: str, namespace: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    topology = await declare(channel, BrokerNames(namespace), DELIVERY_LIMIT)

    async def webhook(request: web.Request) -> web.Response:
        form = await request.post()
        body = json.dumps({key: str(value) for key, value in form.items()}).encode()
        message = aio_pika.Message(
            body, content_type="application/json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT
        )
        await topology.exchange.publish(message, routing_key=RECEIVED, mandatory=True)
        return web.Response(body=EMPTY_TWIML, content_type="text/xml")

    app = web.Application()
    app.router.add_post("/webhooks/twilio", webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    try:
        await asyncio.Event().wait()  # until SIGTERM ends the process
    finally:
        await runner.cleanup()
        await connection.close()


async def consume(messages: int, prefetch: int, amqp_url: str, namespace: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=prefetch)
    topology = await declare(channel, BrokerNames(namespace), DELIVERY_LIMIT)
    finished = asyncio.Event()
    acked = 0

    async def on_message(incoming: AbstractIncomingMessage) -> None:
        nonlocal acked
        json.loads(incoming.body)
        await incoming.ack()
        acked += 1
        if acked >= messages:
            finished.set()

    started = time.perf_counter()
    await topology.received.consume(on_message)
    await asyncio.wait_for(finished.wait(), timeout=600)
    seconds = time.perf_counter() - started
    await connection.close()
    print(json.dumps({"messages": acked, "seconds": seconds, "rate": acked / seconds}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["serve", "consume"])
    parser.add_argument("--amqp-url", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--prefetch", type=int, default=32)
    args = parser.parse_args()
    if args.mode == "serve":
        asyncio.run(serve(args.port, args.amqp_url, args.namespace))
    else:
        asyncio.run(consume(args.messages, args.prefetch, args.amqp_url, args.namespace))


if __name__ == "__main__":
    main()
