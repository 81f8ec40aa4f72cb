"""The enrolment QR code in Debian's Chromium, read back as a phone would: the <img> renders,
and a QR reader (zxing-cpp) decodes a screenshot of it into the otpauth:// URI of the key the
page shows, at a desktop and a phone width (issue 16)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import zxingcpp
from PIL import Image
from playwright.async_api import Browser, Page

from inbound.config import Settings
from inbound.review.auth import ISSUER
from tests.integration.conftest import Stack
from tests.integration.sign_in_support import caseworker, review_stack
from tests.support.browser import ARTIFACTS, PASSWORD

WIDTHS = {"desktop": 1280, "phone": 375}


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path) -> AsyncIterator[Stack]:
    async with review_stack(settings, tmp_path) as started:
        yield started


async def enrolment_page(stack: Stack, browser: Browser, email: str, width: int) -> Page:
    """A new caseworker's browser, signed in with the password and shown the enrolment page."""
    person = await caseworker(stack, email, enrolled=False)
    context = await browser.new_context(viewport={"width": width, "height": 800})
    page = await context.new_page()
    await page.goto(stack.base_url + "/review/sign-in")
    await page.get_by_label("Email address").fill(person.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("heading", name="Set up two-factor sign-in").wait_for()
    await page.wait_for_load_state("load")  # the QR code is an image of its own
    return page


def decoded(png: bytes) -> list[str]:
    """The text of every QR code a reader finds in this screenshot."""
    image = Image.open(io.BytesIO(png)).convert("L")
    return [
        found.text
        for found in zxingcpp.read_barcodes(
            image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        )
    ]


@pytest.mark.parametrize("size", list(WIDTHS))
async def test_a_phone_can_scan_the_enrolment_code(
    stack: Stack, browser: Browser, size: str
) -> None:
    email = f"new-{size}@alpha.example"
    page = await enrolment_page(stack, browser, email, WIDTHS[size])
    qr = page.get_by_role("img", name="QR code of your two-factor key")
    assert await qr.evaluate("image => image.complete && image.naturalWidth > 0")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"enrol-qr-page-{size}.png"), full_page=True)
    png = await qr.screenshot(path=str(ARTIFACTS / f"enrol-qr-{size}.png"))

    texts = decoded(png)

    assert len(texts) == 1, texts
    uri = urlsplit(texts[0])
    query = parse_qs(uri.query)
    typed_key = (await page.locator("#totp-secret").inner_text()).replace(" ", "")
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert query["secret"] == [typed_key]
    assert query["issuer"] == [ISSUER]
    assert unquote(uri.path) == f"/{ISSUER}:{email}"
    # No second copy of the key anywhere a shared cache could keep it.
    response = await page.request.get(stack.base_url + "/review/enrol/qr.svg")
    assert response.headers["cache-control"] == "no-store"
    await page.context.close()
