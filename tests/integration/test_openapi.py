"""The OpenAPI document, and schemathesis fuzzing the running server from it: no 5xx, ever."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.conftest import TWILIO_TOKEN
from tests.support.process import serving

SCHEMATHESIS = str(Path(sys.executable).parent / "st")


def test_openapi_document_lists_the_enabled_webhooks(env: dict[str, str], tmp_path: Path) -> None:
    env["INBOUND_TWILIO_AUTH_TOKEN"] = TWILIO_TOKEN
    with serving(env, tmp_path / "server"):
        url = f"http://127.0.0.1:{env['INBOUND_PORT']}/openapi.json"
        with urllib.request.urlopen(url, timeout=10) as response:
            document = json.load(response)
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]["/webhooks/twilio"]) == {"get", "post"}
    assert set(document["paths"]["/webhooks/generic"]) == {"post"}
    assert "GenericMessage" in document["components"]["schemas"]


def test_schemathesis_finds_no_server_error(env: dict[str, str], tmp_path: Path) -> None:
    env["INBOUND_TWILIO_AUTH_TOKEN"] = TWILIO_TOKEN
    with serving(env, tmp_path / "server"):
        base = f"http://127.0.0.1:{env['INBOUND_PORT']}"
        result = subprocess.run(
            [
                SCHEMATHESIS,
                "run",
                f"{base}/openapi.json",
                "--checks",
                "not_a_server_error",
                # /api needs a token: test_api_schema.py runs it signed in, where it can reach
                # more than the 401 every request without one gets.
                "--exclude-path-regex",
                "^/api/",
                "--max-examples",
                "60",
                "--workers",
                "2",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=tmp_path,
        )
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
