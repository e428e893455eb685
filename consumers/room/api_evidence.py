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

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from consumers.archive.evidence import export_incident
from consumers.retrieval.service import RetrievalRefused
from consumers.room.api_cameras import refuse
from consumers.room.api_incidents import IncidentId, Reason
from consumers.room.app import ERROR_RESPONSES
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


def _stream(path: Path, scratch: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as f:
            while block := f.read(BLOCK):
                yield block
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def evidence_router(room: Room) -> APIRouter:
    router = APIRouter(prefix="/api/incidents", tags=["evidence"], responses=ERROR_RESPONSES)

    @router.post(
        "/{incident_id}/export",
        response_class=StreamingResponse,
        responses={200: {"content": {"application/zip": {}}}},
    )
    async def export(user: Supervisor, incident_id: IncidentId, body: Reason) -> StreamingResponse:
        """The incident's evidence package (a zip of one folder), for the user's operator."""
        if room.picture(user.operator).own_incident(incident_id) is None:
            raise HTTPException(404, f"no incident {incident_id} for {user.operator}")
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
        except RetrievalRefused as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            raise await refuse(room, user, 403, exc.reason) from exc
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        return StreamingResponse(
            _stream(target, scratch),
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{target.name}"',
                "X-Vigie-Package": package.name,
            },
        )

    return router
