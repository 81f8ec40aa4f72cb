"""Reading a posted form: every field a page reads is text, sent once.

`request.post()` hands back whatever was sent: a file where a note was expected (which `str()`
turns into Python's description of the file object), bytes from a multipart part with a binary
content type, the same name twice. `read_form` and `text` make each of those a `FormInvalid`,
which a page answers with a 400 naming the field. The sign-in pages can use the same two calls.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

Form = MultiDictProxy[str | bytes | bytearray | FileField]


class FormInvalid(Exception):
    """A posted form the page can't use; the message says what was wrong with it."""

    def __init__(self, field: str | None, why: str) -> None:
        super().__init__(f"{field}: {why}" if field else why)
        self.field = field
        self.why = why


async def read_form(request: web.Request) -> Form:
    """The posted form (read once, then kept by aiohttp); a body that can't be read as a form
    (a bad encoding, an unknown charset, broken multipart) is FormInvalid. An oversized body
    stays aiohttp's 413."""
    try:
        return await request.post()
    except (ValueError, LookupError, AssertionError, HttpProcessingError) as error:
        # UnicodeDecodeError is a ValueError; an unknown charset is a LookupError; a part's
        # broken header is aiohttp's InvalidHeader; its multipart reader asserts on some others.
        raise FormInvalid(None, "the form could not be read; send it again from the page") from (
            error
        )


def text(form: Form, name: str, default: str = "") -> str:
    """The field `name` as text: `default` when absent; FormInvalid when it is a file, binary
    data, or sent more than once."""
    values = form.getall(name, [])
    if not values:
        return default
    if len(values) > 1:
        raise FormInvalid(name, "was sent more than once")
    value = values[0]
    if isinstance(value, FileField):
        raise FormInvalid(name, "a file was sent where text is expected")
    if not isinstance(value, str):
        raise FormInvalid(name, "binary data was sent where text is expected")
    return value
