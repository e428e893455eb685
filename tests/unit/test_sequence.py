"""Per-camera sequence numbers never go backwards, also across adapter restarts and crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from producers.sequence import SequenceStore


def test_numbers_increase_per_camera_independently(tmp_path: Path) -> None:
    store = SequenceStore(tmp_path)
    assert [store.next("a") for _ in range(3)] == [0, 1, 2]
    assert store.next("b") == 0
    assert store.next("a") == 3


def test_a_restarted_adapter_continues_above_every_number_it_may_have_used(tmp_path: Path) -> None:
    first = SequenceStore(tmp_path, block=100)
    used = [first.next("cam") for _ in range(250)]
    # Simulate a crash: the first store is dropped without any shutdown hook.
    second = SequenceStore(tmp_path, block=100)
    resumed = second.next("cam")
    assert resumed > max(used)
    assert resumed == 300  # the reserved high-water mark: a visible gap, never a repeat


def test_a_corrupt_sequence_file_is_refused_rather_than_restarting_at_zero(tmp_path: Path) -> None:
    (tmp_path / "cam.seq").write_text("garbage")
    with pytest.raises(ValueError, match=r"cam\.seq"):
        SequenceStore(tmp_path).next("cam")
