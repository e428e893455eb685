"""Evidence export from the room: a supervisor packages what its operator was granted for one
of its incidents, then downloads the package.

    POST /api/incidents/{incident_id}/export {reason}   build the package (audited, as
                                                         `vigie archive export` does)
    GET  /api/exports/{package}.zip                      the package as a zip (audited)

The package (clips, manifests, SHA256SUMS, receipt.json; `vigie archive verify` checks it) is
kept under `<state>/room/exports/<operator>/`: only a supervisor of that operator can fetch it.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import time
import zipfile
from datetime import timedelta
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import Response
from pydantic import BaseModel

from consumers.archive.evidence import RECEIPT, export_incident
from consumers.retrieval.service import RetrievalRefused
from consumers.room.api_incidents import IncidentId, Reason
from consumers.room.app import ERROR_RESPONSES
from consumers.room.auditing import audited
from consumers.room.deps import Supervisor
from consumers.room.room import Room
from schemas.records import AuditAction

__all__ = ["export_router"]

PACKAGE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class ExportOut(BaseModel):
    incident_id: str
    package: str
    files: int
    download: str


KEEP = timedelta(hours=1)
"""A package waits this long for its download, then leaves the room's disk (it holds other
operators' video: it must not outlive the need, nor their retention)."""


def exports_dir(room: Room, operator: str) -> FilePath:
    return room.state_dir / "room" / "exports" / operator


def prune(folder: FilePath, now: float) -> None:
    """Remove the packages in `folder` older than KEEP."""
    if not folder.is_dir():
        return
    for package in folder.iterdir():
        if now - package.stat().st_mtime > KEEP.total_seconds():
            shutil.rmtree(package, ignore_errors=True)


def _zip(package: FilePath) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(p for p in package.rglob("*") if p.is_file()):
            archive.write(path, f"{package.name}/{path.relative_to(package)}")
    return buffer.getvalue()


def export_router(room: Room) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["incidents"], responses=ERROR_RESPONSES)

    @router.post("/incidents/{incident_id}/export")
    async def export(user: Supervisor, incident_id: IncidentId, body: Reason) -> ExportOut:
        """Package the archive the user's operator was granted for its incident."""
        if room.picture(user.operator).own_incident(incident_id) is None:
            raise HTTPException(404, f"no incident {incident_id} for {user.operator}")
        await asyncio.to_thread(prune, exports_dir(room, user.operator), time.time())
        try:
            package = await export_incident(
                room.connection,
                room.state_dir,
                incident_id=incident_id,
                requester=user.operator,
                actor=user.name,
                reason=body.reason,
                out_root=exports_dir(room, user.operator),
            )
        except RetrievalRefused as exc:
            raise HTTPException(403, str(exc)) from exc
        files = sum(1 for p in package.rglob("*") if p.is_file())
        return ExportOut(
            incident_id=incident_id,
            package=package.name,
            files=files,
            download=f"/api/exports/{package.name}.zip",
        )

    @router.get(
        "/exports/{package}.zip",
        response_class=Response,
        responses={200: {"content": {"application/zip": {}}}},
    )
    async def download(
        user: Supervisor,
        package: Annotated[str, Path(pattern=PACKAGE, description="the package's name")],
    ) -> Response:
        """A package of the user's operator, as a zip (audited before it is sent)."""
        await asyncio.to_thread(prune, exports_dir(room, user.operator), time.time())
        folder = exports_dir(room, user.operator) / package
        if not (folder / RECEIPT).is_file():
            raise HTTPException(404, f"no package {package} for {user.operator}")
        await audited(
            room, user, AuditAction.EXPORT, "evidence package downloaded",
            package=package,
        )  # fmt: skip
        data = await asyncio.to_thread(_zip, folder)
        return Response(
            data,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{package}.zip"'},
        )

    return router
