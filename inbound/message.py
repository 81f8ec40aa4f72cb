"""The canonical inbound message every provider's webhook is turned into. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator


class Part(BaseModel):
    """Where one part of a concatenated SMS belongs: which whole, and which piece of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: str = Field(min_length=1, max_length=100, description="same for every part")
    total: int = Field(ge=2, le=255)
    number: int = Field(ge=1, le=255, description="1-based")

    @model_validator(mode="after")
    def _within_total(self) -> Part:
        if self.number > self.total:
            raise ValueError(f"part {self.number} of {self.total} is past the last part")
        return self


class InboundMessage(BaseModel):
    """One SMS as received: who sent it, to which of our numbers, and what it said."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str = Field(min_length=1, max_length=32)
    provider_message_id: str = Field(min_length=1, max_length=200)
    sender: str = Field(
        min_length=1, max_length=32, description="E.164, short code or alphanumeric"
    )
    recipient: str = Field(min_length=1, max_length=32, description="our number, E.164")
    text: str = Field(max_length=10_000)
    received_at: AwareDatetime
    part: Part | None = None
    accepted_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))

    @field_validator("received_at", "accepted_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    def to_json(self) -> bytes:
        """The JSON RabbitMQ and the spool carry: byte for byte what `model_dump_json` writes.

        Built with orjson at about a third of the cost: every webhook writes one
        (tests/unit/test_message_json.py holds the two to the same output).
        """
        part = self.part
        fields = {
            "provider": self.provider,
            "provider_message_id": self.provider_message_id,
            "sender": self.sender,
            "recipient": self.recipient,
            "text": self.text,
            "received_at": self.received_at,
            "part": None
            if part is None
            else {"reference": part.reference, "total": part.total, "number": part.number},
            "accepted_at": self.accepted_at,
        }
        try:
            return orjson.dumps(fields, option=orjson.OPT_UTC_Z)
        except TypeError:  # orjson.JSONEncodeError: text pydantic writes and orjson refuses
            return self.model_dump_json().encode("utf-8")

    @property
    def key(self) -> str:
        """The dedupe key, unique per provider."""
        return f"{self.provider}:{self.provider_message_id}"
