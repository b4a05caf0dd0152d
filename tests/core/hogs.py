"""Functions for the sandbox tests, run in its child process (module level, so they pickle)."""

from __future__ import annotations


def answer(value: int) -> dict:
    return {"doubled": value * 2}


def eat_memory(megabytes: int) -> int:
    blocks = [bytearray(1 << 20) for _ in range(megabytes)]
    return len(blocks)


def spin() -> None:
    while True:
        pass


def fail() -> None:
    raise KeyError("broken reader")
