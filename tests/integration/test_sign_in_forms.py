"""Sign-in forms that can't be read are a clear 400, never a 500 with a traceback: raw HTTP
bodies against a running inbound, no login needed for the first page (issue 13)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.integration.conftest import Stack
from tests.integration.sign_in_support import (
    Browsers,
    browsers,
    caseworker,
    cookies_of,
    raw_post,
    stack,
)

__all__ = ["browsers", "stack"]  # fixtures

BOUNDARY = "b0undary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
FORM = "application/x-www-form-urlencoded"


def part(name: str, value: str, filename: str | None = None) -> str:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    extra = "Content-Type: text/plain\r\n" if filename else ""
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{extra}\r\n{value}\r\n"


def multipart(*parts: str) -> bytes:
    return ("".join(parts) + f"--{BOUNDARY}--\r\n").encode()


@dataclass(frozen=True)
class Bad:
    """A body the page can't use: its content type and bytes, given the CSRF token and the
    form's main field (email or code)."""

    content_type: str | None
    body: Callable[[str, str], bytes]


CASES: dict[str, Bad] = {
    "JSON": Bad("application/json", lambda csrf, field: b'{"%s": "x"}' % field.encode()),
    "plain text": Bad("text/plain", lambda csrf, field: f"csrf_token={csrf}".encode()),
    "no content type": Bad(None, lambda csrf, field: f"csrf_token={csrf}".encode()),
    "multipart without a boundary": Bad(
        "multipart/form-data", lambda csrf, field: multipart(part("csrf_token", csrf))
    ),
    "multipart with another boundary": Bad(
        "multipart/form-data; boundary=other", lambda csrf, field: multipart(part("a", csrf))
    ),
    "multipart cut off": Bad(
        MULTIPART, lambda csrf, field: multipart(part("csrf_token", csrf))[:-20]
    ),
    "a multipart part without a name": Bad(
        MULTIPART,
        lambda csrf, field: f"--{BOUNDARY}\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),
    ),
    "not UTF-8": Bad(FORM, lambda csrf, field: f"csrf_token={csrf}&{field}=".encode() + b"\xff"),
    "an unknown charset": Bad(
        f"{FORM}; charset=no-such-charset", lambda csrf, field: f"csrf_token={csrf}".encode()
    ),
    "a file as the CSRF token": Bad(
        MULTIPART, lambda csrf, field: multipart(part("csrf_token", csrf, filename="t.txt"))
    ),
    "a file where the field is": Bad(
        MULTIPART,
        lambda csrf, field: multipart(part("csrf_token", csrf), part(field, "1", "f.txt")),
    ),
    "the field twice": Bad(
        FORM, lambda csrf, field: f"csrf_token={csrf}&{field}=1&{field}=2".encode()
    ),
    "the field too long": Bad(
        FORM, lambda csrf, field: f"csrf_token={csrf}&{field}={'1' * 300}".encode()
    ),
}


async def page_for(stack: Stack, browsers: Browsers, path: str) -> tuple[dict[str, str], str]:
    """(cookies, CSRF token) of a browser that has opened the form at `path`."""
    if path == "/review/sign-in":
        browser = browsers.new()
        await browser.get(path)
        return cookies_of(browser), browser.csrf
    person = await caseworker(stack, "case@alpha.example", enrolled=path == "/review/two-factor")
    browser, status, _, headers = await browsers.password_step(person.email)
    assert (status, headers["Location"]) == (303, path)
    await browser.get(path)
    return cookies_of(browser), browser.csrf


@pytest.mark.parametrize(
    ("path", "field"),
    [("/review/sign-in", "email"), ("/review/two-factor", "code"), ("/review/enrol", "code")],
)
async def test_a_form_that_cannot_be_read_is_a_clear_400(
    stack: Stack, browsers: Browsers, path: str, field: str
) -> None:
    cookies, csrf = await page_for(stack, browsers, path)
    answers = {}
    for name, bad in CASES.items():
        answer = await raw_post(
            stack.base_url, path, bad.content_type, bad.body(csrf, field), cookies
        )
        answers[name] = (answer.status, "not sent as the page sends it" in answer.body)
    assert answers == dict.fromkeys(CASES, (400, True))
    # The same page still works for a form sent as the page sends it.
    good = f"csrf_token={csrf}&{field}=1".encode()
    answer = await raw_post(stack.base_url, path, FORM, good, cookies)
    assert answer.status in {401, 303}


async def test_an_over_long_password_is_a_400_not_an_argon2_run(
    stack: Stack, browsers: Browsers
) -> None:
    cookies, csrf = await page_for(stack, browsers, "/review/sign-in")
    body = f"csrf_token={csrf}&email=a%40b.example&password={'x' * 1025}".encode()
    answer = await raw_post(stack.base_url, "/review/sign-in", FORM, body, cookies)
    assert answer.status == 400
    assert "password: is longer than 1024 characters" in answer.body


@pytest.mark.parametrize(
    ("path", "field"),
    [("/review/sign-in", "email"), ("/review/sign-in", "password"), ("/review/enrol", "code")],
)
async def test_a_character_no_one_types_is_a_400_naming_the_field(
    stack: Stack, browsers: Browsers, path: str, field: str
) -> None:
    """Found by test_review_fuzz: a NUL in the email reached the account lookup, which
    PostgreSQL refuses, and the sign-in page answered 500."""
    cookies, csrf = await page_for(stack, browsers, path)
    fields = {"email": "a%40b.example", "password": "secret", "code": "123456"}
    fields[field] = "a%00b"
    sent = "&".join(
        f"{name}={value}"
        for name, value in fields.items()
        if name == field or path == "/review/sign-in"
    )
    answer = await raw_post(
        stack.base_url, path, FORM, f"csrf_token={csrf}&{sent}".encode(), cookies
    )
    assert answer.status == 400
    assert f"{field}: contains U+0000" in answer.body
