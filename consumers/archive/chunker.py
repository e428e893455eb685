"""Chunk boundaries and offset commits of the archiver, pure (no I/O, no clock of its own).

Windows
    A camera's frames are cut into windows of N seconds (default 10) by **capture time**: a
    frame captured at t belongs to the window starting at ``floor(t / N) * N``, whenever it
    arrives. A window's chunk is closed when a frame of a *later* window of the same camera
    arrives (in Kafka offset order, so the same input closes it at the same place), when the
    camera has been idle for a while (the caller passes the time), or when the archiver stops
    or loses the partition.

Late frames
    A frame whose window was already closed opens a new chunk of that window: a later *part*.
    Late frames are never dropped and never merged into an object already stored.

Parts and exactly-once under replay (the Kafka Connect S3 sink way)
    The part number is the Kafka offset of the first frame a chunk stores. A camera is the key
    of its frames, so all of a camera's frames are in one partition (provisioning never changes
    a keyed topic's partition count), offsets increase, and no two chunks of a window can share
    a first offset: the key ``<camera>/<hour>/<window start>-p<first offset>`` names a chunk
    deterministically from its content.

    Offsets are committed only up to the first offset of the oldest chunk not yet stored
    (:func:`commit_offsets`), so a restart re-reads every frame that is not safely stored.
    Re-reading can re-read frames that *are* stored as well (a chunk stored just before a
    crash, before the commit; the chunks of other cameras sharing the partition), and the
    idle and shutdown closes depend on wall-clock time, so a replay may group frames
    differently than the first run did. The manifest is therefore the commit marker: before
    storing a chunk that holds re-read offsets (below the partition's end offset when the
    archiver got the partition), the store reads the manifests of that window and
    :func:`without_stored` removes the frames a manifest already holds. What remains is stored
    under its own first offset, which no stored manifest holds, so it can collide only with an
    orphan video of a crash between the two PUTs, which it then overwrites. Every frame ends in
    exactly one manifest: none lost (commit after store), none duplicated (stored offsets are
    filtered, keys come from offsets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

__all__ = [
    "DEFAULT_IDLE_S",
    "DEFAULT_WINDOW_S",
    "ArchivedFrame",
    "Chunk",
    "Chunker",
    "Source",
    "commit_offsets",
    "us_to_datetime",
    "window_start_us",
    "without_stored",
]

DEFAULT_WINDOW_S = 10
DEFAULT_IDLE_S = 5.0
MAX_FRAMES_PER_CHUNK = 5_000
"""A camera with a stuck clock puts every frame in one window: cap a chunk's size."""

Source = tuple[str, int]
"""(topic, partition) a frame was read from."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start_us(capture_us: int, window_us: int) -> int:
    """Start of the window holding a frame captured at ``capture_us`` (floor, also before 1970)."""
    return (capture_us // window_us) * window_us


def us_to_datetime(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True, slots=True)
class ArchivedFrame:
    """One frame as the archiver keeps it until its chunk is stored."""

    topic: str
    partition: int
    offset: int
    operator: str
    camera_id: str
    sequence: int
    capture_us: int
    width: int
    height: int
    image: bytes

    @property
    def source(self) -> Source:
        return (self.topic, self.partition)


@dataclass(slots=True)
class Chunk:
    """The frames of one camera, one window, one partition: one video object and its manifest."""

    operator: str
    camera_id: str
    topic: str
    partition: int
    window_start_us: int
    window_us: int
    frames: list[ArchivedFrame] = field(default_factory=list)
    last_append: float = 0.0

    @property
    def source(self) -> Source:
        return (self.topic, self.partition)

    @property
    def first_offset(self) -> int:
        return min(f.offset for f in self.frames)

    @property
    def last_offset(self) -> int:
        return max(f.offset for f in self.frames)

    @property
    def part(self) -> int:
        """The part number in the object key: the first offset stored (see module docstring)."""
        return self.first_offset

    @property
    def window_start(self) -> datetime:
        return us_to_datetime(self.window_start_us)

    @property
    def window_end(self) -> datetime:
        return us_to_datetime(self.window_start_us + self.window_us)

    def in_capture_order(self) -> list[ArchivedFrame]:
        """Frames sorted as they were captured (ties: sequence, then offset)."""
        return sorted(self.frames, key=lambda f: (f.capture_us, f.sequence, f.offset))


def without_stored(chunk: Chunk, stored_offsets: Iterable[int]) -> Chunk | None:
    """The chunk minus the frames whose offsets a stored manifest already holds; None if
    nothing is left. Its part (first offset) follows from the frames that remain."""
    stored = set(stored_offsets)
    remaining = [f for f in chunk.frames if f.offset not in stored]
    if not remaining:
        return None
    if len(remaining) == len(chunk.frames):
        return chunk
    return replace(chunk, frames=remaining)


_CameraId = tuple[str, int, str]  # topic, partition, camera


class Chunker:
    """Open chunks by (partition, camera, window); returns the chunks that close.

    ``now`` arguments are a monotonic time in seconds, supplied by the caller (only the idle
    close uses it).
    """

    def __init__(
        self,
        window_s: int = DEFAULT_WINDOW_S,
        idle_s: float = DEFAULT_IDLE_S,
        max_frames: int = MAX_FRAMES_PER_CHUNK,
    ) -> None:
        if window_s <= 0:
            raise ValueError(f"window of {window_s} s: must be at least 1 s")
        self.window_us = window_s * 1_000_000
        self.idle_s = idle_s
        self.max_frames = max_frames
        self._by_camera: dict[_CameraId, dict[int, Chunk]] = {}
        """(topic, partition, camera) -> window start -> open chunk."""

    def __len__(self) -> int:
        return sum(len(windows) for windows in self._by_camera.values())

    @property
    def open_chunks(self) -> list[Chunk]:
        return [chunk for windows in self._by_camera.values() for chunk in windows.values()]

    def add(self, frame: ArchivedFrame, now: float) -> list[Chunk]:
        """Put a frame in its chunk; returns the chunks its arrival closes."""
        window = window_start_us(frame.capture_us, self.window_us)
        camera = (frame.topic, frame.partition, frame.camera_id)
        windows = self._by_camera.setdefault(camera, {})
        closed = [windows.pop(w) for w in [w for w in windows if w < window]]
        chunk = windows.get(window)
        if chunk is None:
            chunk = Chunk(
                operator=frame.operator,
                camera_id=frame.camera_id,
                topic=frame.topic,
                partition=frame.partition,
                window_start_us=window,
                window_us=self.window_us,
            )
            windows[window] = chunk
        chunk.frames.append(frame)
        chunk.last_append = now
        if len(chunk.frames) >= self.max_frames:
            closed.append(windows.pop(window))
        return closed

    def idle(self, clocks: Mapping[Source, float]) -> list[Chunk]:
        """Close the chunks that received no frame for ``idle_s`` seconds of their partition's
        clock: the time up to which the partition has been read (the caller gives ``now`` for
        a partition read up to its end, the arrival time of its last record otherwise). So a
        camera that stopped closes its chunk, while a backlog read partition after partition
        does not split every chunk whose partition is simply waiting for its turn."""
        return self._take(
            lambda c: c.source in clocks and clocks[c.source] - c.last_append >= self.idle_s
        )

    def drain(self, sources: Iterable[Source] | None = None) -> list[Chunk]:
        """Close every open chunk (of these partitions only, if given)."""
        if sources is None:
            return self._take(lambda c: True)
        wanted = set(sources)
        return self._take(lambda c: c.source in wanted)

    def _take(self, close: Callable[[Chunk], bool]) -> list[Chunk]:
        taken: list[Chunk] = []
        for camera, windows in list(self._by_camera.items()):
            for window, chunk in list(windows.items()):
                if close(chunk):
                    taken.append(windows.pop(window))
            if not windows:
                del self._by_camera[camera]
        return taken


def commit_offsets(
    positions: Mapping[Source, int], unstored_first_offsets: Iterable[tuple[Source, int]]
) -> dict[Source, int]:
    """The offset to commit per partition: where reading resumes after a restart.

    ``positions`` is the next offset to read per partition (last handled offset + 1);
    ``unstored_first_offsets`` holds the first offset of every chunk that is open or being
    stored. A partition's commit is its position, lowered to the first offset of its oldest
    unstored chunk, so that every frame not yet in a stored chunk is read again.
    """
    commits = dict(positions)
    for source, offset in unstored_first_offsets:
        if source in commits and offset < commits[source]:
            commits[source] = offset
    return commits
