"""The rule that splits a long wait into long-polls (no server: a scripted clock)."""

from __future__ import annotations

from inboxkit.client.rounds import WaitRounds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(rounds: WaitRounds, clock: Clock, took: list[float]) -> list[float]:
    """The round timeouts asked for, each round taking the next duration of `took`."""
    asked = []
    for round_timeout in rounds:
        asked.append(round_timeout)
        clock.now += took.pop(0) if took else round_timeout
    return asked


def test_a_wait_longer_than_the_cap_is_split_into_rounds_up_to_the_deadline():
    clock = Clock()
    assert run(WaitRounds(150, 60, clock=clock), clock, []) == [60, 60, 30]


def test_a_wait_of_zero_is_one_round_of_zero():
    clock = Clock()
    assert run(WaitRounds(0, 60, clock=clock), clock, []) == [0]


def test_a_round_the_server_cut_short_ends_the_wait():
    clock = Clock()
    assert run(WaitRounds(600, 60, clock=clock), clock, [0.01]) == [60]


def test_without_stop_when_cut_short_the_rounds_carry_on_to_the_deadline():
    clock = Clock()
    rounds = WaitRounds(100, 60, stop_when_cut_short=False, clock=clock)
    assert run(rounds, clock, [0.0]) == [60, 60, 40]
