"""Which sharing agreements cover which camera, and the grants an incident justifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.config import Camera, IncidentKind, SharingAgreement, VigieConfig
from streams import geometry
from streams.incidents.state import DesiredGrant, Incident, IncidentStatus


def grant_id(incident_id: str, camera_id: str, valid_from: datetime) -> str:
    """The id of one grant period of `camera_id` for `incident_id`, stable across reprocessing
    (its start is the command's broker time): a change of terms or the revocation overwrites
    it on the compacted `grants` topic, a camera granted again later gets a new one, so the
    earlier period stays on record for exports and holds."""
    return f"{incident_id}:{camera_id}:{valid_from.astimezone(UTC):%Y%m%dT%H%M%S%fZ}"


def _in_scope(agreement: SharingAgreement, camera: Camera) -> bool:
    zone_ok = not agreement.zones or camera.zone in agreement.zones
    tags_ok = not agreement.tags or not set(agreement.tags).isdisjoint(camera.tags)
    return zone_ok and tags_ok


def matching_agreements(
    config: VigieConfig, camera: Camera, grantee: str, kind: IncidentKind
) -> list[SharingAgreement]:
    """The agreements that share `camera` with `grantee` for an incident of `kind`."""
    return [
        agreement
        for agreement in config.agreements
        if agreement.owner == camera.operator
        and agreement.grantee == grantee
        and kind in agreement.incident_kinds
        and _in_scope(agreement, camera)
    ]


def allowed_kinds(config: VigieConfig, operator: str) -> frozenset[IncidentKind]:
    """Incident kinds for which at least one agreement shares cameras with `operator`."""
    return frozenset(
        kind
        for agreement in config.agreements
        if agreement.grantee == operator
        for kind in agreement.incident_kinds
    )


def desired_grants(
    config: VigieConfig, incident: Incident, at: datetime
) -> dict[str, DesiredGrant]:
    """Camera id -> the grant `incident` justifies at `at`; empty for a closed incident.

    Candidates are the cameras within the radius plus the adjacency-predicted next cameras in
    the direction of travel; a candidate is granted when it belongs to another operator, an
    agreement covers it (see matching_agreements) and that coverage has not expired at `at`.
    """
    if incident.status is IncidentStatus.CLOSED:
        return {}
    near = geometry.cameras_within(config.cameras, incident.position, incident.radius_m)
    near_ids = {camera.id for camera in near}
    registry = config.cameras_by_id
    ahead_ids = geometry.next_cameras(
        config.links, registry, near_ids, incident.previous_position, incident.position
    )
    candidates = [*near, *(registry[camera_id] for camera_id in sorted(ahead_ids))]
    desired: dict[str, DesiredGrant] = {}
    for camera in candidates:
        if camera.operator == incident.operator:
            continue
        agreements = matching_agreements(config, camera, incident.operator, incident.kind)
        if not agreements:
            continue
        valid_until = incident.opened_at + timedelta(
            minutes=max(a.max_duration_minutes for a in agreements)
        )
        if valid_until <= at:
            continue
        desired[camera.id] = DesiredGrant(
            camera_id=camera.id,
            owner=camera.operator,
            grantee=incident.operator,
            incident_id=incident.incident_id,
            legal_basis=incident.legal_basis,
            live=any(a.live for a in agreements),
            archive=any(a.archive for a in agreements),
            valid_until=valid_until,
            agreement_ids=tuple(sorted(a.id for a in agreements)),
            agreement_legal_bases=tuple(sorted({a.legal_basis for a in agreements})),
            ahead=camera.id in ahead_ids and camera.id not in near_ids,
        )
    return desired
