"""What the archiver refuses to archive, from one record (pure): the frames of a camera that
belongs to another operator than the topic's are dead-lettered with the owner named, since the
router no longer reads every frame (it reads only shared cameras)."""

from __future__ import annotations

import pytest

from consumers.archive.archiver import _Rejected, to_archived_frame
from consumers.archive.frame_reader import ConsumedRecord
from schemas.codec import FRAME
from schemas.headers import frame_headers
from tests.builders import frame

OWNERS = {"stib-rogier": "stib", "police-bourse": "police-x"}


def _record(topic: str, camera: str, operator: str) -> ConsumedRecord:
    f = frame(operator, camera)
    return ConsumedRecord(topic, 0, 7, camera.encode(), FRAME.encode(f), frame_headers(f))


def test_an_operators_own_camera_is_archived() -> None:
    archived = to_archived_frame(_record("frames.stib", "stib-rogier", "stib"), OWNERS)
    assert archived.camera_id == "stib-rogier"


def test_a_camera_of_another_operator_is_refused_with_its_owner() -> None:
    with pytest.raises(_Rejected) as refused:
        to_archived_frame(_record("frames.police-x", "stib-rogier", "police-x"), OWNERS)
    assert refused.value.error_kind == "ForeignCamera"
    assert "belongs to 'stib'" in refused.value.reason


def test_a_camera_the_configuration_does_not_know_is_judged_by_its_topic() -> None:
    archived = to_archived_frame(_record("frames.stib", "stib-new", "stib"), OWNERS)
    assert archived.camera_id == "stib-new"
