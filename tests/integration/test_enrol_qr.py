"""The enrolment QR code over real HTTP: a standalone SVG document an <img> can show (its own
namespace, a viewBox, a painted quiet zone), typed as SVG and never cached (issue 16)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.integration.sign_in_support import (
    Browsers,
    browsers,
    caseworker,
    enrol_page_secret,
    stack,
)

__all__ = ["browsers", "stack"]  # fixtures

SVG = "{http://www.w3.org/2000/svg}"


async def test_the_qr_code_is_a_standalone_svg_document(browsers: Browsers) -> None:
    person = await caseworker(browsers.stack, "new@alpha.example", enrolled=False)
    browser, status, _, headers = await browsers.password_step(person.email)
    assert (status, headers["Location"]) == (303, "/review/enrol")
    await enrol_page_secret(browser)

    status, body, headers = await browser.get("/review/enrol/qr.svg")

    assert status == 200
    assert headers["Content-Type"].split(";")[0] == "image/svg+xml"
    assert headers["Cache-Control"] == "no-store"
    # Our own server's answer, and expat expands no external entities: no need for defusedxml.
    root = ET.fromstring(body)  # noqa: S314
    assert root.tag == f"{SVG}svg", root.tag  # without the namespace an <img> shows nothing
    x, y, width, height = (float(n) for n in root.attrib["viewBox"].split())
    assert (x, y) == (0, 0)
    assert width == height > 0
    assert root.find(f"{SVG}title") is not None
    assert not any(e.tag.endswith("script") or e.tag.endswith("foreignObject") for e in root.iter())
    # The quiet zone is painted light: the first shape fills the whole view in white, so the
    # code stays scannable on any page background.
    background = next(e for e in root if e.tag == f"{SVG}path")
    assert background.attrib.get("fill", "").lower() in {"#fff", "#ffffff", "white"}
    assert background.attrib["d"].startswith("M0 0h")
