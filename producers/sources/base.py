"""What every camera source offers the adapter loop: blocking reads of decoded images."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from schemas.errors import VigieError

Image = npt.NDArray[np.uint8]


class SourceError(VigieError, RuntimeError):
    """The source cannot deliver images now; the reason is shown in the camera's events."""


class FrameSource(Protocol):
    def open(self) -> None: ...

    def read(self, now: datetime) -> Image:
        """The next image (blocking; called from a worker thread). Raises SourceError."""
        ...

    def close(self) -> None: ...
