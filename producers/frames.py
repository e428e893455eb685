"""From a decoded camera image to the contract's frame and the camera events it causes.

Pure apart from the sequence store: resize to the profile, black out the privacy masks (before
encoding, so masked pixels never leave the adapter), JPEG-encode, and watch the masked image
for motion and tampering. Runs in a worker thread: all of it is CPU work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from producers.masks import MaskRenderer
from producers.motion import MotionDetector
from producers.normalise import Image, encode_jpeg, resize_to_profile
from producers.sequence import SequenceStore
from producers.tamper import TamperDetector
from schemas.config import Camera, CameraProfile
from schemas.records import CameraEvent, CameraEventKind, Frame, FrameEncoding, TamperKind

TAMPER_REASONS = {
    TamperKind.COVERED: "the lens looks covered (almost uniform image)",
    TamperKind.DEFOCUS: "the image lost its focus",
    TamperKind.SCENE_CHANGE: "the view changed (camera moved or turned)",
}


@dataclass(frozen=True)
class Processed:
    frame: Frame
    events: list[CameraEvent]


class FrameProcessor:
    def __init__(self, camera: Camera, profile: CameraProfile, sequences: SequenceStore) -> None:
        self.camera = camera
        self.profile = profile
        self._sequences = sequences
        self._masks = MaskRenderer(camera.privacy_masks)
        # Analysis ignores the masked areas: they are black, static, and not ours to watch.
        self._motion = MotionDetector.for_profile(profile, camera.privacy_masks)
        self._tamper = TamperDetector(masks=camera.privacy_masks)

    def reset_analysis(self) -> None:
        """After a reconnection the view may differ: learn the background again."""
        self._motion.reset()
        self._tamper.reset()

    def process(self, image: Image, captured_at: datetime) -> Processed:
        normalised = resize_to_profile(image, self.profile.width, self.profile.height)
        if self._masks.has_masks:
            if normalised is image:  # never write into the source's own buffer
                normalised = normalised.copy()
            self._masks.apply(normalised)
        height, width = normalised.shape[:2]
        frame = Frame(
            camera_id=self.camera.id,
            operator=self.camera.operator,
            capture_time=captured_at,
            sequence=self._sequences.next(self.camera.id),
            width=width,
            height=height,
            encoding=FrameEncoding.JPEG,
            image=encode_jpeg(normalised, self.profile.jpeg_quality),
            privacy_masked=self._masks.has_masks,
        )
        return Processed(frame, self._analyse(normalised, captured_at))

    def _analyse(self, image: Image, at: datetime) -> list[CameraEvent]:
        events: list[CameraEvent] = []
        change = self._motion.update(image)
        if change is not None:
            events.append(
                CameraEvent(
                    camera_id=self.camera.id,
                    operator=self.camera.operator,
                    time=at,
                    kind=CameraEventKind(change.value),
                    motion_score=self._motion.score,
                )
            )
        tamper = self._tamper.update(image)
        if tamper is not None:
            events.append(
                CameraEvent(
                    camera_id=self.camera.id,
                    operator=self.camera.operator,
                    time=at,
                    kind=CameraEventKind.TAMPER,
                    tamper=tamper,
                    reason=TAMPER_REASONS[tamper],
                )
            )
        return events
