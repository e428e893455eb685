"""Evidence export in the room: a supervisor takes the incident's archived windows its operator
was granted, as a sealed package (clips, manifests, SHA256SUMS, receipt.json) in one zip.

Each window is fetched after its grant check and audited before it is read (retrieval), the
export itself is audited before the package goes out; `vigie archive verify` checks the
unpacked folder and names any altered file.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from consumers.archive.evidence import export_incident
from consumers.retrieval.service import RetrievalRefused
from consumers.room.api_cameras import refuse
from consumers.room.api_incidents import IncidentId, Reason
from consumers.room.app import ERROR_RESPONSES
from consumers.room.auth import User
from consumers.room.deps import Supervisor
from consumers.room.room import Room

__all__ = ["evidence_router"]

BLOCK = 256 * 1024


def _zip(package: Path, target: Path) -> None:
    """`package` (a folder) into the zip `target`, paths relative to the folder's parent."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(package.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(package.parent).as_posix())


def _stream(opened: BinaryIO) -> Iterator[bytes]:
    with opened:
        while block := opened.read(BLOCK):
            yield block


EXPORTS_AT_ONCE = 2
"""Packages are built on the room's disk: two at a time, whoever asks."""


def evidence_router(room: Room) -> APIRouter:
    router = APIRouter(prefix="/api/incidents", tags=["evidence"], responses=ERROR_RESPONSES)
    building = asyncio.Semaphore(EXPORTS_AT_ONCE)

    @router.post(
        "/{incident_id}/export",
        response_class=StreamingResponse,
        responses={200: {"content": {"application/zip": {}}}},
    )
    async def export(user: Supervisor, incident_id: IncidentId, body: Reason) -> StreamingResponse:
        """The incident's evidence package (a zip of one folder), for the user's operator."""
        if room.picture(user.operator).own_incident(incident_id) is None:
            raise HTTPException(404, f"no incident {incident_id} for {user.operator}")
        async with building:
            return await _export(user, incident_id, body)

    async def _export(user: User, incident_id: str, body: Reason) -> StreamingResponse:
        scratch = Path(tempfile.mkdtemp(prefix="vigie-export-"))
        try:
            package = await export_incident(
                room.connection,
                room.state_dir,
                incident_id=incident_id,
                requester=user.operator,
                actor=user.name,
                reason=body.reason,
                out_root=scratch,
            )
            target = scratch / f"{package.name}.zip"
            await asyncio.to_thread(_zip, package, target)
            # Open, then remove from disk at once: nothing of it stays behind, whether the
            # client reads it all, leaves early or never starts.
            opened = target.open("rb")
        except RetrievalRefused as exc:
            raise await refuse(room, user, 403, exc.reason) from exc
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return StreamingResponse(
            _stream(opened),
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{target.name}"',
                "X-Vigie-Package": package.name,
            },
        )

    return router
