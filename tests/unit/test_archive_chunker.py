"""Chunk boundaries, parts, keys and offset commits of the archiver (pure, no services)."""

from __future__ import annotations

from datetime import UTC, datetime

from consumers.archive.chunker import (
    ArchivedFrame,
    Chunker,
    commit_offsets,
    window_start_us,
    without_stored,
)
from schemas.storage import (
    archive_manifest_key,
    archive_object_key,
    is_key_safe_id,
    parse_archive_key,
)

T0 = 1_795_000_000_000_000  # a whole second, in epoch microseconds (multiple of 10 s)
S = 1_000_000


def frame(offset: int, capture_us: int, camera: str = "cam-a", partition: int = 0) -> ArchivedFrame:
    return ArchivedFrame(
        topic="frames.op",
        partition=partition,
        offset=offset,
        operator="op",
        camera_id=camera,
        sequence=offset,
        capture_us=capture_us,
        width=16,
        height=16,
        image=b"\xff\xd8\xff\xd9",
    )


def test_windows_are_cut_on_capture_time_not_on_arrival() -> None:
    """A frame captured at 9.9 s belongs to the [0, 10) window even if it arrives with the
    frames of 10 s and later: arrival order moves it to a later part, never another window."""
    chunker = Chunker(window_s=10)
    assert chunker.add(frame(0, T0 + 1 * S), now=0) == []
    assert chunker.add(frame(1, T0 + 9 * S + 900_000), now=0) == []
    closed = chunker.add(frame(2, T0 + 10 * S), now=0)
    assert [(c.window_start_us, [f.offset for f in c.frames]) for c in closed] == [(T0, [0, 1])]
    assert closed[0].window_start == datetime.fromtimestamp(T0 / S, UTC)
    assert closed[0].window_end == datetime.fromtimestamp(T0 / S + 10, UTC)


def test_window_start_floors_also_before_the_epoch() -> None:
    assert window_start_us(T0 + 15 * S, 10 * S) == T0 + 10 * S
    assert window_start_us(-1, 10 * S) == -10 * S


def test_a_late_frame_goes_into_a_later_part_of_its_own_window() -> None:
    chunker = Chunker(window_s=10)
    chunker.add(frame(0, T0), now=0)
    (first,) = chunker.add(frame(1, T0 + 10 * S), now=0)  # window [0, 10) closes
    assert chunker.add(frame(2, T0 + 5 * S), now=0) == []  # late: window [0, 10) again
    closed = chunker.add(frame(3, T0 + 11 * S), now=0)  # the camera moves on: late part closes
    assert [(c.window_start_us, c.part) for c in closed] == [(T0, 2)]
    assert first.part == 0
    assert closed[0].part > first.part  # part = first offset: increasing, never reused


def test_cameras_and_partitions_have_their_own_chunks() -> None:
    chunker = Chunker(window_s=10)
    chunker.add(frame(0, T0, camera="cam-a"), now=0)
    chunker.add(frame(1, T0, camera="cam-b"), now=0)
    closed = chunker.add(frame(2, T0 + 10 * S, camera="cam-a"), now=0)
    assert [c.camera_id for c in closed] == ["cam-a"]
    assert {c.camera_id for c in chunker.open_chunks} == {"cam-a", "cam-b"}


def test_an_idle_camera_chunk_closes_after_the_idle_time_of_its_partition() -> None:
    """A camera that stopped sending closes its chunk after the idle time; a partition that
    has not been read for a while (a backlog read partition after partition) does not."""
    chunker = Chunker(window_s=10, idle_s=5)
    chunker.add(frame(0, T0), now=100.0)
    chunker.add(frame(1, T0, partition=1), now=100.0)
    source0, source1 = ("frames.op", 0), ("frames.op", 1)
    assert chunker.idle({source0: 104.9, source1: 104.9}) == []
    # Partition 0 is read up to its end at 105; partition 1 delivered nothing since 100.
    assert [c.part for c in chunker.idle({source0: 105.0, source1: 100.0})] == [0]
    assert len(chunker) == 1


def test_frames_are_encoded_in_capture_order() -> None:
    chunker = Chunker(window_s=10)
    chunker.add(frame(0, T0 + 3 * S), now=0)
    chunker.add(frame(1, T0 + 1 * S), now=0)
    (chunk,) = chunker.drain()
    assert [f.offset for f in chunk.in_capture_order()] == [1, 0]


def test_a_replay_stores_only_frames_no_manifest_holds_under_its_first_offset() -> None:
    chunker = Chunker(window_s=10)
    for offset in range(5):
        chunker.add(frame(offset, T0 + offset * S), now=0)
    (chunk,) = chunker.drain()
    assert without_stored(chunk, {0, 1, 2, 3, 4}) is None
    assert without_stored(chunk, set()) is chunk
    rest = without_stored(chunk, {0, 1})
    assert rest is not None
    assert [f.offset for f in rest.frames] == [2, 3, 4]
    assert rest.part == 2


def test_commit_stops_at_the_first_offset_of_the_oldest_unstored_chunk() -> None:
    positions = {("frames.op", 0): 120, ("frames.op", 1): 50, ("frames.op", 2): 7}
    unstored = [(("frames.op", 0), 100), (("frames.op", 0), 110), (("frames.op", 1), 49)]
    assert commit_offsets(positions, unstored) == {
        ("frames.op", 0): 100,
        ("frames.op", 1): 49,
        ("frames.op", 2): 7,  # nothing open: everything read is stored
    }
    # A partition no longer assigned is not committed.
    assert commit_offsets({}, unstored) == {}


def test_object_keys_are_deterministic_and_parse_back() -> None:
    start = datetime(2026, 11, 26, 12, 0, 10, tzinfo=UTC)
    video = archive_object_key("stib-c1", start, 4711, "mp4")
    assert video == "stib-c1/2026/11/26/12/20261126T120010Z-p000000004711.mp4"
    assert archive_manifest_key("stib-c1", start, 4711) == video.removesuffix("mp4") + "json"
    key = parse_archive_key(video)
    assert key is not None
    assert (key.camera_id, key.window_start, key.part, key.ext) == ("stib-c1", start, 4711, "mp4")
    assert parse_archive_key("../etc/passwd") is None


def test_camera_ids_that_would_escape_their_key_prefix_are_refused() -> None:
    assert is_key_safe_id("stib-c1")
    assert not is_key_safe_id("../other")
    assert not is_key_safe_id("cam/2026")
    assert not is_key_safe_id("")
