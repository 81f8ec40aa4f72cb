"""Prompt lifecycles in any order: a hypothesis state machine over `match_reply`.

Prompts are sent, sent again (updated), withdrawn and left to expire while replies with random
actions, with or without a reference, arrive, some of them late (received before earlier
replies were processed). Each decision's prompt change is applied, as the worker will. What
must always hold:

- at most one outcome per answered prompt: a repeat of the same answer produces nothing new,
  and without `allow_change` a prompt is acted on once in its life (a withdrawn prompt sent
  again starts a new life); with it, each further outcome is a real change, never a repeat,
  and never replaces an answer received later;
- never an automatic action outside the prompt's `expects`: an action that answers no prompt
  is an opt-out, opt-in or help, or comes from a number with no prompt under `without_prompt:
  rules`.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from inbound.prompts.matching import Verdict, match_reply
from inbound.prompts.model import STANDING_ACTIONS, Prompt, PromptState, revise
from inbound.rules.match import Decision
from inbound.rules.model import Action
from inbound.rules.prompt_settings import PromptSettings, WithoutPrompt

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TO = "+447700900123"
REFERENCES = ("appt-1", "appt-2", "appt-3")
ANSWERS = (Action.confirm, Action.cancel, Action.change)
REPLIES = (*ANSWERS, Action.opt_out, Action.help, Action.manual, None)


class PromptLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.settings = PromptSettings()
        self.prompts: dict[str, Prompt] = {}
        self.life: Counter[str] = Counter()  # which life each reference is in
        self.outcomes: Counter[tuple[str, int]] = Counter()  # ACTs per (reference, life)

    @initialize(allow_change=st.booleans(), without=st.sampled_from(WithoutPrompt))
    def configure(self, allow_change: bool, without: WithoutPrompt) -> None:
        self.settings = PromptSettings(without_prompt=without, allow_change=allow_change)

    @rule(
        reference=st.sampled_from(REFERENCES),
        expects=st.sets(st.sampled_from(ANSWERS), min_size=1),
        minutes=st.integers(1, 72 * 60),
    )
    def send(self, reference: str, expects: set[Action], minutes: int) -> None:
        """A prompt is sent; the same reference again is an update."""
        sent = Prompt(
            "appointments",
            TO,
            reference,
            frozenset(expects),
            self.now,
            self.now + timedelta(minutes=minutes),
        )
        existing = self.prompts.get(reference)
        if existing is None or existing.state is PromptState.WITHDRAWN:
            self.life[reference] += 1
        self.prompts[reference] = revise(existing, sent)

    @rule(reference=st.sampled_from(REFERENCES))
    def withdraw(self, reference: str) -> None:
        if reference in self.prompts:
            self.prompts[reference] = self.prompts[reference].withdrawn()

    @rule(minutes=st.integers(0, 80 * 60))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(
        action=st.sampled_from(REPLIES),
        named=st.one_of(st.none(), st.sampled_from((*REFERENCES, "appt-404", "2"))),
        late_by=st.one_of(st.just(0), st.integers(0, 24 * 60)),
    )
    def reply(self, action: Action | None, named: str | None, late_by: int) -> None:
        """A reply arrives; `late_by` minutes old, so replies are processed in any order."""
        self._reply(action, named, self.now - timedelta(minutes=late_by))

    @precondition(lambda self: any(p.answer for p in self.prompts.values()))
    @rule(data=st.data(), same=st.booleans())
    def answer_again(self, data: st.DataObject, same: bool) -> None:
        """A reply naming an answered prompt, received any time after it was sent (before or
        after the answer recorded): the same answer again, or any other."""
        answered = sorted(p.reference for p in self.prompts.values() if p.answer)
        prompt = self.prompts[data.draw(st.sampled_from(answered))]
        assert prompt.answer is not None
        action = prompt.answer.action if same else data.draw(st.sampled_from(ANSWERS))
        # before the recorded answer (when the prompt was sent before it) or after it
        start, end = prompt.sent_at, self.now
        if data.draw(st.booleans()) and prompt.sent_at <= prompt.answer.at:
            end = prompt.answer.at
        else:
            start = max(start, prompt.answer.at)
        span = int((end - start).total_seconds()) // 60
        received = start + timedelta(minutes=data.draw(st.integers(0, span)))
        verdict = self._reply(action, prompt.reference, received)
        if action is prompt.answer.action:
            assert verdict is Verdict.REPEAT, "the same answer again produces nothing new"

    def _reply(self, action: Action | None, named: str | None, received: datetime) -> Verdict:
        captures = {"reference": named} if named else {}
        proposed = Decision(action, "rule" if action else None, captures, "the rules said so")
        decision = match_reply(received, proposed, list(self.prompts.values()), self.settings)
        event(f"{decision.verdict}{' answering' if decision.transition else ''}")

        if decision.verdict is not Verdict.ACT:
            assert decision.action is None
            assert decision.transition is None
        if decision.verdict is Verdict.REPEAT:
            assert decision.prompt is not None
            assert decision.prompt.answer is not None
            assert decision.prompt.answer.action is action
        if decision.verdict is not Verdict.ACT:
            return decision.verdict

        assert decision.action is action
        assert proposed.automatic
        transition = decision.transition
        if transition is None:
            # no prompt answered: a standing action, or a number with no prompt at all
            live = [
                p
                for p in self.prompts.values()
                if p.state is not PromptState.WITHDRAWN and p.sent_at <= received
            ]
            assert action in STANDING_ACTIONS or (
                not live and self.settings.without_prompt is WithoutPrompt.RULES
            ), decision
            return decision.verdict

        before, after = transition.before, transition.after
        reference = before.reference
        assert self.prompts[reference] == before, "the change starts from the stored prompt"
        assert action in before.expects, "never an automatic action outside expects"
        assert not before.expired_at(received)
        assert after == before.answered(action, received)
        if before.answer is not None:
            assert self.settings.allow_change
            assert before.answer.action is not action, "a repeat is never a second outcome"
            assert before.answer.at < received, "an older reply never replaces a newer answer"
        self.outcomes[(reference, self.life[reference])] += 1
        self.prompts[reference] = after
        return decision.verdict

    @invariant()
    def one_outcome_per_prompt_unless_changes_are_allowed(self) -> None:
        if not self.settings.allow_change:
            assert all(count <= 1 for count in self.outcomes.values()), self.outcomes

    @invariant()
    def answered_exactly_when_acted_on(self) -> None:
        for reference, prompt in self.prompts.items():
            acted = self.outcomes[(reference, self.life[reference])] > 0
            if prompt.state is PromptState.ANSWERED:
                assert acted
            if prompt.state is PromptState.OPEN:
                assert not acted


PromptLifecycle.TestCase.settings = hypothesis_settings(
    max_examples=150, stateful_step_count=30, deadline=None
)
test_prompt_lifecycle = PromptLifecycle.TestCase
