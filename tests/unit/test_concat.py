"""Joining the parts of a concatenated SMS."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inbound.concat import join_parts


def test_parts_in_any_order_join_in_number_order() -> None:
    joined = join_parts([(3, "Lane"), (1, "REPORT broken light on Mi"), (2, "ll ")], 3)
    assert joined.text == "REPORT broken light on Mill Lane"
    assert joined.complete


def test_a_repeated_part_counts_once() -> None:
    assert join_parts([(1, "ab"), (2, "cd"), (1, "ab")], 2).text == "abcd"


def test_missing_parts_are_marked_visibly() -> None:
    joined = join_parts([(1, "Please cancel my"), (3, "thank you")], 3)
    assert joined.missing == (2,)
    assert joined.text == "Please cancel my [part 2 of 3 missing] thank you"
    assert not joined.complete


@given(
    st.lists(st.text(max_size=20), min_size=2, max_size=6).flatmap(
        lambda texts: st.tuples(
            st.just(texts),
            st.permutations(list(enumerate(texts, start=1))),
            st.lists(st.sampled_from(list(enumerate(texts, start=1))), max_size=4),
        )
    )
)
def test_shuffled_and_duplicated_parts_give_the_original(
    case: tuple[list[str], list[tuple[int, str]], list[tuple[int, str]]],
) -> None:
    texts, shuffled, repeats = case
    joined = join_parts([*shuffled, *repeats], len(texts))
    assert joined.complete
    assert joined.text == "".join(texts)
