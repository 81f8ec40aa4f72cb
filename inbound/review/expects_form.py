"""The "this reply answers a reminder expecting …" boxes of a "test a message" form."""

from __future__ import annotations

from inbound.prompts.intake import ANSWERS
from inbound.review import forms
from inbound.review.forms import FormInvalid
from inbound.rules.model import Action, ServiceRules


def answerable(*services: ServiceRules) -> tuple[Action, ...]:
    """The actions of these rules a reminder may expect, in the rules' order, each once."""
    used = dict.fromkeys(
        rule.action for service in services for rule in service.rules if rule.action in ANSWERS
    )
    return tuple(used)


def ticked(form: forms.Form, answers: tuple[Action, ...]) -> tuple[Action, ...]:
    """The ticked boxes; FormInvalid for a value the page never offers."""
    offered = {action.value: action for action in answers}
    chosen: list[Action] = []
    for value in form.getall("expects", []):
        if not isinstance(value, str) or value not in offered:
            raise FormInvalid("expects", "is not one of the actions the page offers")
        chosen.append(offered[value])
    return tuple(dict.fromkeys(chosen))
