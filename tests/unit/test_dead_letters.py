"""A message a stage cannot handle is kept whole in its dead letter, whatever client read it."""

from __future__ import annotations

from types import SimpleNamespace

from schemas.codec import DEAD_LETTER
from schemas.dead_letters import dead_letter_for


def _message(headers: object) -> SimpleNamespace:
    return SimpleNamespace(
        topic="frames.stib", partition=2, offset=41, key=b"cam", value=b"\x00bytes", headers=headers
    )


def test_message_is_kept_whole_with_stage_and_reason() -> None:
    letter = dead_letter_for(
        _message([("vigie-seq", b"x"), ("empty", None)]),
        stage="policy",
        error_kind="HeaderError",
        reason="header vigie-seq: not a number",
    )
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == (
        "frames.stib",
        2,
        41,
    )
    assert (letter.key, letter.value) == (b"cam", b"\x00bytes")
    assert letter.headers == {"vigie-seq": b"x", "empty": b""}
    assert letter.reason == "header vigie-seq: not a number"
    assert DEAD_LETTER.decode(DEAD_LETTER.encode(letter)) == letter


def test_mapping_headers_and_no_headers_are_accepted() -> None:
    assert dead_letter_for(
        _message({"a": b"1"}), stage="s", error_kind="e", reason="r"
    ).headers == {"a": b"1"}
    assert dead_letter_for(_message(None), stage="s", error_kind="e", reason="r").headers == {}
