// The map: the user's cameras and those shared with it now, zones, the incident's position,
// radius and trail. With no tile server configured it needs no internet: a neutral
// background with a scale. Labels are DOM nodes built with textContent (never HTML strings).

import * as L from "/vendor/leaflet/leaflet-src.esm.js";
import { el } from "./dom.js";
import { t } from "./i18n.js";

const FADE_MS = 4000;
const BRUSSELS = [50.8466, 4.3528];

function label(text) {
  return el("span", {}, text);
}

export class RoomMap {
  constructor(container, settings) {
    this.map = L.map(container, {
      attributionControl: Boolean(settings.tile_url), keyboard: true, minZoom: 3, maxZoom: 19,
    });
    // The zoom, for whoever needs metres per pixel (the end-to-end tests click at a distance).
    this.map.on("zoomend", () => (container.dataset.zoom = String(this.map.getZoom())));
    this.map.setView(BRUSSELS, 14);
    container.dataset.zoom = "14";
    if (settings.tile_url) {
      const layer = L.tileLayer(settings.tile_url, { maxZoom: 19 });
      this.map.attributionControl.setPrefix(false); // no link out of the room
      if (settings.attribution) this.map.attributionControl.addAttribution(settings.attribution.replace(/[<>&]/g, ""));
      layer.addTo(this.map);
    } else {
      container.classList.add("offline");
    }
    L.control.scale({ imperial: false, metric: true }).addTo(this.map);
    this.cameraLayer = L.layerGroup().addTo(this.map);
    this.zoneLayer = L.layerGroup().addTo(this.map);
    this.incidentLayer = L.layerGroup().addTo(this.map);
    this.cameras = new Map();
    this.fitted = false;
    this.onClick = null;
    this.onDrag = null;
    this.map.on("click", (event) => this.onClick && this.onClick(event.latlng));
    this.pick = null;
  }

  /** Draw `cameras` (own and shared now); a newly shared one is highlighted, a revoked one fades. */
  setCameras(cameras, operator) {
    const ids = new Set(cameras.map((c) => c.camera_id));
    for (const camera of cameras) {
      const known = this.cameras.get(camera.camera_id);
      if (known && !known.fading) continue;
      if (known) known.marker.remove();
      const marker = L.circleMarker([camera.latitude, camera.longitude], {
        radius: camera.shared ? 9 : 6,
        className: camera.shared ? "cam cam-shared cam-new" : "cam cam-own",
        weight: 2,
      }).bindTooltip(label(`${camera.name} — ${camera.operator}`));
      marker.addTo(this.cameraLayer);
      const entry = { marker, camera, fading: false };
      this.cameras.set(camera.camera_id, entry);
      if (camera.shared) setTimeout(() => marker.getElement()?.classList.remove("cam-new"), FADE_MS);
    }
    for (const [id, entry] of this.cameras) {
      if (ids.has(id) || entry.fading) continue;
      entry.fading = true;
      entry.marker.getElement()?.classList.add("cam-revoked");
      setTimeout(() => {
        entry.marker.remove();
        if (this.cameras.get(id) === entry) this.cameras.delete(id);
      }, FADE_MS);
    }
    this.drawZones(cameras.filter((c) => c.operator === operator));
    if (!this.fitted && cameras.length) {
      const bounds = L.latLngBounds(cameras.map((c) => [c.latitude, c.longitude])).pad(0.3);
      this.map.fitBounds(bounds, { maxZoom: 16 });
      this.fitted = true;
    }
  }

  drawZones(own) {
    this.zoneLayer.clearLayers();
    const zones = new Map();
    for (const camera of own) {
      if (!zones.has(camera.zone)) zones.set(camera.zone, []);
      zones.get(camera.zone).push([camera.latitude, camera.longitude]);
    }
    for (const [zone, points] of zones) {
      // Around its cameras, with a margin of about 80 m (a zone of one camera is still seen).
      const bounds = L.latLngBounds(points.map((p) => L.latLng(p).toBounds(160)));
      L.rectangle(bounds, { className: "zone", weight: 1, interactive: true })
        .bindTooltip(label(t("zone", { zone })))
        .addTo(this.zoneLayer);
    }
  }

  /** The incident: position, radius, trail; draggable when `movable`. */
  setIncident(incident, movable) {
    this.incidentLayer.clearLayers();
    if (!incident || incident.latitude == null) return;
    const at = [incident.latitude, incident.longitude];
    if (incident.trail && incident.trail.length > 1) {
      L.polyline(incident.trail, { className: "trail", weight: 3, interactive: false }).addTo(this.incidentLayer);
    }
    if (incident.status !== "refused") {
      // A refused incident never had an area: only where it was asked for.
      L.circle(at, { radius: incident.radius_m || 100, className: `radius ${incident.status}`, interactive: false }).addTo(this.incidentLayer);
    }
    const pin = L.marker(at, {
      draggable: movable,
      keyboard: true,
      title: t("incident_position"),
      icon: L.divIcon({ className: `incident-pin ${incident.status}`, iconSize: [22, 22] }),
    });
    if (movable) {
      pin.on("dragend", () => this.onDrag && this.onDrag(pin.getLatLng()));
    }
    pin.addTo(this.incidentLayer);
  }

  focus(incident) {
    if (!incident || incident.latitude == null) return;
    const zoom = Math.min(Math.max(this.map.getZoom(), 14), 16);
    this.map.setView([incident.latitude, incident.longitude], zoom);
  }

  /** A provisional pin while an incident is being opened. */
  showPick(latlng) {
    if (this.pick) this.pick.remove();
    this.pick = latlng ? L.marker(latlng, { icon: L.divIcon({ className: "incident-pin pick", iconSize: [22, 22] }), interactive: false }).addTo(this.map) : null;
  }

  invalidate() {
    this.map.invalidateSize();
  }
}
