"""The breaker that sends webhooks straight to the spool for a while after a failed publish."""

from __future__ import annotations

import pytest

from inbound.spool.breaker import Breaker, Route


def test_a_healthy_broker_is_always_tried() -> None:
    breaker = Breaker(cool_off=5)
    assert [breaker.route(t) for t in (0, 1, 100)] == [Route.PUBLISH] * 3
    assert not breaker.open


@pytest.mark.parametrize(
    ("now", "route"),
    [
        pytest.param(10.0, Route.SPOOL, id="at the failure, spool"),
        pytest.param(14.9, Route.SPOOL, id="within the cool-off, spool"),
        pytest.param(15.0, Route.TRIAL, id="once the cool-off ends, one webhook tries"),
        pytest.param(99.0, Route.TRIAL, id="long after, still a trial first"),
    ],
)
def test_after_a_failure_webhooks_spool_until_the_cool_off_ends(now: float, route: Route) -> None:
    breaker = Breaker(cool_off=5)
    breaker.failed(10.0)
    assert breaker.route(now) is route


def test_only_one_webhook_tests_the_broker_at_a_time() -> None:
    breaker = Breaker(cool_off=5)
    breaker.failed(0)
    assert breaker.route(6) is Route.TRIAL
    assert [breaker.route(6.1), breaker.route(7)] == [Route.SPOOL, Route.SPOOL]


def test_a_confirmed_trial_closes_the_breaker() -> None:
    breaker = Breaker(cool_off=5)
    breaker.failed(0)
    assert breaker.route(6) is Route.TRIAL
    breaker.published()
    assert [breaker.route(6.1), breaker.route(6.2)] == [Route.PUBLISH, Route.PUBLISH]
    assert not breaker.open


def test_a_failed_trial_opens_it_for_another_cool_off() -> None:
    breaker = Breaker(cool_off=5)
    breaker.failed(0)
    assert breaker.route(6) is Route.TRIAL
    breaker.failed(9)
    assert breaker.route(13.9) is Route.SPOOL
    assert breaker.route(14) is Route.TRIAL


def test_an_abandoned_trial_lets_the_next_webhook_test_it() -> None:
    breaker = Breaker(cool_off=5)
    breaker.failed(0)
    assert breaker.route(6) is Route.TRIAL
    breaker.trial_abandoned()
    assert breaker.route(6.5) is Route.TRIAL
