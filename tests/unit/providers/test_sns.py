"""SNS-delivered two-way SMS: envelopes signed in the test with a certificate it generates."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.providers.base import (
    MalformedBody,
    PayloadInvalid,
    SignatureInvalid,
    UnsupportedMediaType,
    WebhookRequest,
)
from inbound.providers.sns import (
    CACHE_SIZE,
    CertificateUnavailable,
    ConfirmationFailed,
    Sns,
    is_sns_url,
)
from tests.support.sns_signing import (
    CERT_URL,
    SUBSCRIBE_URL,
    TOPIC,
    FakeAws,
    SigningKey,
    confirmation,
    notification,
    sign,
    sms,
)
from tests.unit.providers.arbitrary import bodies, mutated, only_webhook_errors, requests

URL = "https://sms.example.gov.uk/webhooks/sns"
SIGNER = SigningKey.generate()
OTHER_SIGNER = SigningKey.generate()


def post(envelope: dict[str, Any] | bytes, content_type: str = "text/plain; charset=UTF-8") -> Any:
    body = envelope if isinstance(envelope, bytes) else json.dumps(envelope).encode()
    headers = {"content-type": content_type, "x-amz-sns-message-type": "Notification"}
    return WebhookRequest("POST", URL, headers, body)


def aws(**certificates: bytes) -> FakeAws:
    return FakeAws({CERT_URL: SIGNER.pem, **certificates})


def sns(fake: FakeAws | None = None, topics: tuple[str, ...] = (TOPIC,)) -> Sns:
    return Sns(topics, fake or aws())


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("content_type", ["text/plain; charset=UTF-8", "application/json"])
async def test_genuine_notification_verifies_and_parses(version: str, content_type: str) -> None:
    request = post(sign(notification(sms("Yes please", "in-1")), SIGNER, version), content_type)
    provider = sns()
    await provider.verify(request)
    [message] = provider.parse(request)
    assert message.provider_message_id == "in-1"
    assert (message.sender, message.recipient) == ("+447700900123", "+447700900000")
    assert message.text == "Yes please"
    assert message.received_at == datetime(2026, 11, 28, 9, 15, 0, 123000, tzinfo=UTC)


async def test_subject_is_signed_when_present() -> None:
    envelope = sign(notification(Subject="Inbound SMS"), SIGNER)
    await sns().verify(post(envelope))
    with pytest.raises(SignatureInvalid):
        await sns().verify(post({**envelope, "Subject": "Changed"}))


async def test_an_old_message_is_not_refused_for_its_age() -> None:
    # SNS retries keep the original Timestamp; dedupe, not age, handles repeats.
    envelope = sign(notification(Timestamp="2020-01-01T00:00:00.000Z"), SIGNER)
    await sns().verify(post(envelope))


@pytest.mark.parametrize("field", ["Message", "MessageId", "Timestamp", "Type"])
async def test_tampered_signed_field_is_refused(field: str) -> None:
    envelope = sign(notification(), SIGNER)
    changed = "Notification" if field != "Type" else "SubscriptionConfirmation"
    tampered = {**envelope, field: changed if field == "Type" else envelope[field] + "x"}
    with pytest.raises((SignatureInvalid, PayloadInvalid)):
        await sns().verify(post(tampered))


async def test_signature_by_another_key_is_refused() -> None:
    with pytest.raises(SignatureInvalid, match="Signature"):
        await sns().verify(post(sign(notification(), OTHER_SIGNER)))


async def test_unknown_topic_is_refused_without_fetching_anything() -> None:
    fake = aws()
    envelope = sign(notification(TopicArn=TOPIC + "-other"), SIGNER)
    with pytest.raises(SignatureInvalid) as caught:
        await sns(fake).verify(post(envelope))
    assert caught.value.field == "TopicArn"
    assert fake.fetched == []


@pytest.mark.parametrize(
    "url",
    [
        CERT_URL.replace("https://", "http://"),
        CERT_URL.replace(".amazonaws.com/", ".amazonaws.com.evil.example/"),
        CERT_URL.replace("https://sns.", "https://evilsns."),
        CERT_URL.replace("https://sns.", "https://sns.evil.example/x/sns."),
        CERT_URL.replace("https://", "https://attacker@"),
        CERT_URL.replace(".com/", ".com:8443/"),
        CERT_URL.replace(".amazonaws.com", ".amazonaws.com.cn"),
        CERT_URL.replace("eu-west-2", "eu_west_2"),
        CERT_URL.replace("sns.", "SNS."),
        CERT_URL.replace(".pem", ".pem?x=1"),
        CERT_URL.replace(".pem", ".pem#x"),
        CERT_URL.replace(".pem", ".txt"),
        CERT_URL.replace("/Simple", "/a/../Simple"),
        CERT_URL.replace("https://", "https:\\\\"),
        "https://sns.eu-west-2.amazonaws.com@evil.example/x.pem",
        "https://evil.example/sns.eu-west-2.amazonaws.com/x.pem",
        "https://sns.eu-west-2.amazonaws.com\u3002evil.example/x.pem",
        "https://sns.eu-west-2.amazonaws.co/x.pem",
        "https://sns..amazonaws.com/x.pem",
        "",
    ],
)
async def test_certificate_url_off_aws_sns_is_refused_without_fetching(url: str) -> None:
    fake = aws(**{url: SIGNER.pem})
    with pytest.raises(SignatureInvalid) as caught:
        await sns(fake).verify(post(sign(notification(SigningCertURL=url), SIGNER)))
    assert caught.value.field == "SigningCertURL"
    assert fake.fetched == []


@pytest.mark.parametrize(
    "url",
    [
        CERT_URL,
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.ap-southeast-5.amazonaws.com/SimpleNotificationService-abc.pem",
    ],
)
def test_aws_sns_certificate_urls_are_accepted(url: str) -> None:
    assert is_sns_url(url)


async def test_certificate_is_fetched_once_and_cached() -> None:
    fake = aws()
    provider = sns(fake)
    for _ in range(3):
        await provider.verify(post(sign(notification(), SIGNER)))
    assert fake.fetched == [CERT_URL]


async def test_certificate_cache_is_bounded() -> None:
    urls = [CERT_URL.replace(".pem", f"-{n}.pem") for n in range(CACHE_SIZE + 1)]
    fake = FakeAws(dict.fromkeys(urls, SIGNER.pem))
    provider = sns(fake)
    for url in urls:
        await provider.verify(post(sign(notification(SigningCertURL=url), SIGNER)))
    await provider.verify(post(sign(notification(SigningCertURL=urls[0]), SIGNER)))
    assert fake.fetched == [*urls, urls[0]]  # the oldest was evicted, so fetched again


async def test_certificate_that_cannot_be_fetched_asks_sns_to_retry() -> None:
    fake = aws()
    fake.failing = True
    with pytest.raises(CertificateUnavailable) as caught:
        await sns(fake).verify(post(sign(notification(), SIGNER)))
    assert caught.value.status == 503


@pytest.mark.parametrize("served", [b"", b"<html>not a certificate</html>", b"-----BEGIN X"])
async def test_certificate_that_cannot_be_read_asks_sns_to_retry(served: bytes) -> None:
    with pytest.raises(CertificateUnavailable):
        await sns(aws(**{CERT_URL: served})).verify(post(sign(notification(), SIGNER)))


async def test_expired_certificate_is_refused() -> None:
    expired = SigningKey.generate(valid_for=timedelta(hours=1))
    provider = Sns([TOPIC], aws(**{CERT_URL: expired.pem}), clock=lambda: 4_000_000_000.0)
    with pytest.raises(SignatureInvalid, match="not valid now"):
        await provider.verify(post(sign(notification(), expired)))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"SignatureVersion": "3"}, "SignatureVersion"),
        ({"SignatureVersion": 2}, "SignatureVersion"),
        ({"Signature": "not base64!"}, "Signature"),
        ({"Signature": ""}, "Signature"),
        ({"SigningCertURL": None}, "SigningCertURL"),
    ],
)
async def test_malformed_signature_fields_are_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(SignatureInvalid) as caught:
        await sns().verify(post({**sign(notification(), SIGNER), **changes}))
    assert caught.value.field == field


async def test_subscription_is_confirmed_for_a_configured_topic() -> None:
    fake = aws()
    provider = sns(fake)
    request = post(sign(confirmation(), SIGNER))
    await provider.verify(request)
    assert fake.fetched == [CERT_URL, SUBSCRIBE_URL]
    assert provider.parse(request) == []


async def test_subscription_for_another_topic_is_never_confirmed() -> None:
    fake = aws()
    envelope = sign(confirmation(TopicArn=TOPIC + "-other"), SIGNER)
    with pytest.raises(SignatureInvalid):
        await sns(fake).verify(post(envelope))
    assert fake.fetched == []


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/?Action=ConfirmSubscription",
        SUBSCRIBE_URL.replace("https://", "http://"),
        SUBSCRIBE_URL.replace("ConfirmSubscription", "Unsubscribe"),
    ],
)
async def test_subscribe_url_off_aws_is_never_fetched(url: str) -> None:
    fake = aws()
    with pytest.raises(SignatureInvalid) as caught:
        await sns(fake).verify(post(sign(confirmation(SubscribeURL=url), SIGNER)))
    assert caught.value.field == "SubscribeURL"
    assert fake.fetched == [CERT_URL]


async def test_failed_confirmation_asks_sns_to_retry() -> None:
    fake = aws()
    fake.confirmations_fail = True
    with pytest.raises(ConfirmationFailed) as caught:
        await sns(fake).verify(post(sign(confirmation(), SIGNER)))
    assert caught.value.status == 503


async def test_unsubscribe_confirmation_publishes_nothing_and_fetches_no_subscribe_url() -> None:
    fake = aws()
    request = post(sign(confirmation("UnsubscribeConfirmation"), SIGNER))
    await sns(fake).verify(request)
    assert fake.fetched == [CERT_URL]
    assert sns(fake).parse(request) == []


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("Hello from the console", "Message"),
        ("[1, 2]", "Message"),
        (sms(inboundMessageId=""), "Message.inboundMessageId"),
        (json.dumps({"messageBody": "x", "inboundMessageId": "1"}), "Message.originationNumber"),
        (sms(destinationNumber=" "), "Message.destinationNumber"),
        (json.dumps({**json.loads(sms()), "messageBody": 5}), "Message.messageBody"),
    ],
)
def test_bad_message_fields_are_named(message: str, field: str) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        sns().parse(post(notification(message)))
    assert caught.value.field == field


@pytest.mark.parametrize("sender", ["GOVUK", "60123"])
def test_alphanumeric_senders_and_short_codes_are_kept(sender: str) -> None:
    [message] = sns().parse(post(notification(sms(originationNumber=sender))))
    assert message.sender == sender


def test_bodies_sns_never_sends_are_refused() -> None:
    with pytest.raises(UnsupportedMediaType):
        sns().parse(post(notification(), "application/x-www-form-urlencoded"))
    with pytest.raises(MalformedBody):
        sns().parse(post(b"{not json"))
    with pytest.raises(PayloadInvalid) as caught:
        sns().parse(post({**notification(), "Type": "Surprise"}))
    assert caught.value.field == "Type"


GENUINE = sign(notification(), SIGNER)


@settings(max_examples=300, deadline=None)
@given(requests({"x-amz-sns-message-type": st.just("Notification")}, bodies(template=GENUINE)))
def test_any_request_raises_only_webhook_errors(request: WebhookRequest) -> None:
    only_webhook_errors(sns(), request)


@settings(max_examples=300, deadline=None)
@given(
    mutated(notification()) | mutated(confirmation()),
    st.sampled_from(["1", "2"]),
    st.booleans(),
)
def test_correctly_signed_arbitrary_envelopes_raise_only_webhook_errors(
    envelope: Any, version: str, garbage_certificate: bool
) -> None:
    # Signed where possible, so arbitrary fields get past the signature to confirmation/parsing.
    with contextlib.suppress(KeyError, TypeError, AttributeError, UnicodeEncodeError):
        envelope = sign(envelope, SIGNER, version)
    fake = aws(**({CERT_URL: b"garbage"} if garbage_certificate else {}))
    only_webhook_errors(sns(fake), post(json.dumps(envelope).encode()))


def test_topics_setting_is_a_comma_separated_list_that_enables_sns() -> None:
    from inbound.config import Settings
    from inbound.providers.registry import enabled_providers

    settings = Settings(sns_topic_arns=f" {TOPIC} , {TOPIC}-2 ,")  # type: ignore[arg-type]
    assert settings.sns_topic_arns == [TOPIC, f"{TOPIC}-2"]
    assert "sns" in enabled_providers(settings)
    assert "sns" not in enabled_providers(Settings())
