"""The routing decision, pure: which operators receive a frame, from its headers and the grants.

Deny by default and fail closed:

- an operator reads its own cameras on its own ``frames.<operator>`` topic, so the owner is
  never a recipient here;
- another operator receives a frame only while it holds an ACTIVE grant with ``live`` on that
  camera, given by the frame's operator (the grant's owner must be the operator in the frame's
  headers);
- the grant must be in force at the processing time ``now`` (``valid_from <= now <
  valid_until``: ``valid_until`` is exclusive, as in the Avro schema) **and** the frame must
  have been captured at or after ``valid_from``, so that frames captured before the grant (a
  backlog, a camera buffer) are not shared live. Capture time alone is not trusted for the end
  of validity: a frame arriving after a revocation or expiry is never forwarded, whatever its
  capture time says;
- until the index has been rebuilt from the ``grants`` topic after a (re)start or a
  rebalance (``ready`` is False), nobody receives anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from schemas.headers import FrameRouting, to_epoch_us
from schemas.records import Grant, GrantStatus

__all__ = ["GrantIndex", "LiveGrant", "recipients"]


@dataclass(frozen=True, slots=True)
class LiveGrant:
    """What the router needs of an active live grant, times in epoch microseconds."""

    grant_id: str
    owner: str
    grantee: str
    valid_from_us: int
    valid_until_us: int
    """Exclusive."""

    def admits(self, operator: str, capture_time_us: int, now_us: int) -> bool:
        """Whether a frame of `operator` captured at `capture_time_us` may go out at `now_us`."""
        return (
            self.owner == operator
            and self.grantee != operator
            and self.valid_from_us <= now_us < self.valid_until_us
            and capture_time_us >= self.valid_from_us
        )


class GrantIndex:
    """Camera id -> the active live grants on it, maintained from ``grants`` topic records.

    Feed it every Grant record in topic order with :meth:`apply` (a tombstone: :meth:`discard`)
    and call :meth:`mark_ready` once the topic has been read up to its end. Per-camera entries
    are replaced, never mutated, so a reader holding one never sees a half-applied change.
    """

    def __init__(self, *, ready: bool = False) -> None:
        self._by_camera: dict[str, Mapping[str, LiveGrant]] = {}
        self._camera_of: dict[str, str] = {}
        self._ready = ready

    @classmethod
    def from_grants(cls, grants: Iterable[Grant], *, ready: bool = True) -> GrantIndex:
        """An index built from grant records applied in order."""
        index = cls(ready=ready)
        for grant in grants:
            index.apply(grant)
        return index

    @property
    def ready(self) -> bool:
        """False while the grants are being recovered: recipients() is then always empty."""
        return self._ready

    def mark_ready(self) -> None:
        self._ready = True

    def mark_recovering(self) -> None:
        """Fail closed again, e.g. while partitions are reassigned and state recovers."""
        self._ready = False

    def apply(self, grant: Grant) -> bool:
        """Apply the latest record of a grant; True when live forwarding changed.

        ACTIVE with live adds or replaces it; REVOKED, or ACTIVE without live (archive only),
        removes it. A grant of an operator's camera to itself is ignored.
        """
        if (
            grant.status is GrantStatus.ACTIVE
            and grant.live
            and grant.owner_operator != grant.grantee_operator
        ):
            entry = LiveGrant(
                grant_id=grant.grant_id,
                owner=grant.owner_operator,
                grantee=grant.grantee_operator,
                valid_from_us=to_epoch_us(grant.valid_from),
                valid_until_us=to_epoch_us(grant.valid_until),
            )
            removed = self._remove(grant.grant_id, keep_camera=grant.camera_id)
            grants = dict(self._by_camera.get(grant.camera_id, {}))
            before = grants.get(grant.grant_id)
            grants[grant.grant_id] = entry
            self._by_camera[grant.camera_id] = grants
            self._camera_of[grant.grant_id] = grant.camera_id
            return removed or before != entry
        return self._remove(grant.grant_id)

    def discard(self, grant_id: str) -> bool:
        """Forget a grant (a tombstone on the compacted topic); True if it was live."""
        return self._remove(grant_id)

    def _remove(self, grant_id: str, keep_camera: str | None = None) -> bool:
        camera_id = self._camera_of.get(grant_id)
        if camera_id is None or camera_id == keep_camera:
            return False
        del self._camera_of[grant_id]
        grants = {k: v for k, v in self._by_camera[camera_id].items() if k != grant_id}
        if grants:
            self._by_camera[camera_id] = grants
        else:
            del self._by_camera[camera_id]
        return True

    def cameras(self) -> list[str]:
        """The cameras with at least one active live grant (a copy: safe to iterate while the
        index changes)."""
        return list(self._by_camera)

    def live_grants(self, camera_id: str) -> Mapping[str, LiveGrant]:
        """The active live grants on `camera_id`, by grant id (regardless of time)."""
        return self._by_camera.get(camera_id, {})

    def __len__(self) -> int:
        return len(self._camera_of)


def recipients(routing: FrameRouting, grants: GrantIndex, now_us: int) -> frozenset[str]:
    """The operators other than the owner to whom this frame goes live at `now_us`.

    Empty when the index is not ready, the camera has no live grant, or no grant admits the
    frame (see the module docstring for the exact rule).
    """
    if not grants.ready:
        return frozenset()
    return frozenset(
        grant.grantee
        for grant in grants.live_grants(routing.camera_id).values()
        if grant.admits(routing.operator, routing.capture_time_us, now_us)
    )
