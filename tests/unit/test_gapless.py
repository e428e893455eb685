"""Which consumed records the policy worker may process and commit: never one after a gap."""

from __future__ import annotations

from streams.gapless import Gap, admit


def test_a_contiguous_run_is_taken_whole() -> None:
    admitted = admit(10, None, [10, 11, 12])
    assert (admitted.start, admitted.stop, admitted.next_offset) == (0, 3, 13)
    assert admitted.gap is None
    assert admitted.explained is None


def test_a_jump_stops_the_run_before_it_and_nothing_past_it_is_committable() -> None:
    admitted = admit(10, None, [10, 11, 15, 16])
    assert (admitted.start, admitted.stop) == (0, 2)
    assert admitted.next_offset == 12
    assert admitted.gap == Gap(12, 15)


def test_a_jump_at_the_first_record_takes_nothing() -> None:
    admitted = admit(0, None, [27, 28])
    assert (admitted.start, admitted.stop, admitted.next_offset) == (0, 0, 0)
    assert admitted.gap == Gap(0, 27)


def test_the_records_of_a_real_gap_arriving_on_the_reread_are_taken() -> None:
    admitted = admit(12, Gap(12, 15), [12, 13, 14, 15])
    assert (admitted.start, admitted.stop, admitted.next_offset) == (0, 4, 16)
    assert admitted.gap is None
    assert admitted.explained is None


def test_the_same_jump_read_twice_is_explained_by_the_log_and_stepped_over() -> None:
    """Compaction or a transaction marker: re-reading from 12 finds 15 first again."""
    admitted = admit(12, Gap(12, 15), [15, 16])
    assert (admitted.start, admitted.stop, admitted.next_offset) == (0, 2, 17)
    assert admitted.explained == Gap(12, 15)
    assert admitted.gap is None


def test_a_different_jump_on_the_reread_is_a_new_gap() -> None:
    admitted = admit(12, Gap(12, 15), [14, 15])
    assert admitted.gap == Gap(12, 14)
    assert admitted.stop == 0


def test_records_already_processed_are_skipped() -> None:
    admitted = admit(12, None, [10, 11, 12, 13])
    assert (admitted.start, admitted.stop, admitted.next_offset) == (2, 4, 14)


def test_an_explained_jump_then_a_new_gap_in_the_same_run() -> None:
    admitted = admit(12, Gap(12, 15), [15, 16, 20])
    assert admitted.explained == Gap(12, 15)
    assert admitted.gap == Gap(17, 20)
    assert (admitted.stop, admitted.next_offset) == (2, 17)
