"""The topic catalogue and the provisioning plan (pure)."""

from __future__ import annotations

from schemas.topics import (
    AUDIT,
    GRANTS,
    MAX_FRAME_BYTES,
    ExistingTopic,
    TopicKind,
    catalogue,
    frames_topic,
    operator_of,
    plan,
    shared_topic,
)


def test_every_operator_gets_frames_events_and_shared_topics_once() -> None:
    specs = catalogue(["stib", "port", "stib"])
    names = [s.name for s in specs]
    assert len(names) == len(set(names))
    for op in ("stib", "port"):
        assert {frames_topic(op), f"camera-events.{op}", shared_topic(op)} <= set(names)
    assert {GRANTS, AUDIT, "incidents", "cameras", "dead-letter", "archive-chunks"} <= set(names)


def test_frame_topics_accept_the_maximum_frame_size_and_grants_are_compacted() -> None:
    specs = {s.name: s for s in catalogue(["stib"])}
    assert specs[frames_topic("stib")].configs["max.message.bytes"] == str(MAX_FRAME_BYTES)
    assert specs[shared_topic("stib")].configs["max.message.bytes"] == str(MAX_FRAME_BYTES)
    assert specs[GRANTS].configs["cleanup.policy"] == "compact"
    assert specs["cameras"].configs["cleanup.policy"] == "compact"


def test_operator_is_read_back_from_per_operator_topic_names_only() -> None:
    assert operator_of(frames_topic("police-midi")) == "police-midi"
    assert operator_of(shared_topic("stib")) == "stib"
    assert operator_of(GRANTS) is None
    assert operator_of("unknown.thing") is None


def test_plan_creates_missing_topics_and_reports_partition_and_config_drift() -> None:
    specs = catalogue(["stib"])
    events = next(s for s in specs if s.kind is TopicKind.CAMERA_EVENTS)
    frames = next(s for s in specs if s.kind is TopicKind.FRAMES)
    existing = {
        events.name: ExistingTopic(events.name, events.partitions + 2, dict(events.configs)),
        frames.name: ExistingTopic(
            frames.name, frames.partitions, {**frames.configs, "retention.ms": "1"}
        ),
        GRANTS: ExistingTopic(
            GRANTS, 3, {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}
        ),
    }
    result = plan(specs, existing)
    assert {s.name for s in result.create} == {s.name for s in specs} - set(existing)
    assert {(d.topic, d.what) for d in result.drift} == {
        (events.name, "partitions"),
        (frames.name, "retention.ms"),
    }
    assert result.grow == []
    assert result.unchanged == [GRANTS]
    assert "retention.ms is 1" in str(next(d for d in result.drift if d.what == "retention.ms"))


def test_plan_against_an_up_to_date_cluster_is_empty() -> None:
    specs = catalogue(["stib"])
    existing = {s.name: ExistingTopic(s.name, s.partitions, dict(s.configs)) for s in specs}
    result = plan(specs, existing)
    assert result.create == []
    assert result.drift == []


def test_a_frames_topic_grows_to_a_partition_per_camera_and_never_shrinks() -> None:
    """Cameras added: the frames topic is grown (each frame names its partition, so no camera
    moves); cameras removed: the extra partitions are left, not reported as drift."""
    specs = catalogue(["stib", "port"], frame_partitions={"stib": 40, "port": 2})
    frames = {s.operator: s for s in specs if s.kind is TopicKind.FRAMES}
    assert frames["stib"].partitions == 40
    existing = {
        frames["stib"].name: ExistingTopic(frames["stib"].name, 24, dict(frames["stib"].configs)),
        frames["port"].name: ExistingTopic(frames["port"].name, 6, dict(frames["port"].configs)),
    }
    result = plan([frames["stib"], frames["port"]], existing)
    assert [s.name for s in result.grow] == [frames["stib"].name]
    assert result.drift == []
    assert result.unchanged == [frames["port"].name]
