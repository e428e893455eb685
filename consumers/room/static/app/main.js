// The incident room in the browser: sign in, follow the incidents of the user's operator and
// the public ones, act on them, watch the cameras it may see now, play back the archive.
// Everything shown comes from the room's API, which decides what this user may see.

import { $, el } from "./dom.js";
import { api, setCsrf, ApiError } from "./api.js";
import { t, startLanguage, setLanguage, language, onLanguage } from "./i18n.js";
import { RoomMap } from "./map.js";
import { TileGrid } from "./tiles.js";
import { renderList, renderFacts, renderActions, wireOpenForm } from "./incidents.js";
import { cameraChoices, showTimeline } from "./timeline.js";

const POLL_MS = 1000;
const ALERT_MS = 10000;

const state = {
  me: null,
  incidents: [],
  selectedId: null,
  selected: null,
  cameras: [],
  camerasLoaded: false,
  opening: false,
  map: null,
  tiles: null,
  openForm: null,
  polling: false,
  actionsKey: "",
  focusedId: null,
};

function alertUser(message, kind = "info") {
  const note = el("p", { class: `alert ${kind}` }, message);
  $("#alerts").append(note);
  setTimeout(() => note.remove(), ALERT_MS);
}

function actionError(message) {
  $("#action-error").textContent = message;
}

function has(role) {
  return Boolean(state.me && state.me.roles.includes(role));
}

// ---------------------------------------------------------------- sign-in

async function whoAmI() {
  try {
    return await api.get("/api/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

function showLogin() {
  $("#login").hidden = false;
  $("#room").hidden = true;
  $("#logout").hidden = true;
  $("#who").textContent = "";
  $("#login").elements.user.focus();
}

async function enterRoom(me) {
  state.me = me;
  setCsrf(me.csrf_token);
  $("#login").hidden = true;
  $("#room").hidden = false;
  $("#logout").hidden = false;
  showWho();
  $("#new-incident").hidden = !has("officer");
  if (!state.map) {
    const settings = await api.get("/api/map");
    state.map = new RoomMap($("#map"), settings);
    state.map.onClick = onMapClick;
    state.map.onDrag = (latlng) => move(latlng);
    state.tiles = new TileGrid($("#tiles"));
  }
  state.map.invalidate();
  $(".tiles-section").hidden = !has("viewer");
  $(".timeline-section").hidden = !has("viewer");
  if (!state.polling) poll();
}

function showWho() {
  if (!state.me) return;
  $("#who").textContent = t("signed_in_as", {
    user: state.me.user,
    operator: state.me.operator,
    roles: state.me.roles.map((r) => t(`role_${r}`)).join(", "),
  });
}

$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  $("#login-error").textContent = "";
  try {
    await api.post("/api/session", { user: form.elements.user.value, password: form.elements.password.value });
    form.elements.password.value = "";
    await enterRoom(await api.get("/api/me"));
  } catch (error) {
    $("#login-error").textContent = error.message;
  }
});

$("#logout").addEventListener("click", async () => {
  try {
    await api.del("/api/session");
  } finally {
    location.reload();
  }
});

// ---------------------------------------------------------------- incidents

function select(incidentId) {
  state.selectedId = incidentId;
  state.selected = state.incidents.find((i) => i.incident_id === incidentId) || null;
  actionError("");
  render();
  if (state.selected) {
    state.focusedId = incidentId;
    state.map.focus(state.selected);
  }
  cameraChoices($("#timeline-camera"), state.cameras, state.selected);
}

function movable(incident) {
  return Boolean(incident && has("officer") && incident.operator === state.me.operator && incident.status === "open");
}

async function move(latlng) {
  const incident = state.selected;
  if (!movable(incident)) return;
  actionError("");
  try {
    await api.patch(`/api/incidents/${encodeURIComponent(incident.incident_id)}`, {
      latitude: Number(latlng.lat.toFixed(6)),
      longitude: Number(latlng.lng.toFixed(6)),
    });
    alertUser(t("move_sent"));
  } catch (error) {
    actionError(error.message);
  }
}

function onMapClick(latlng) {
  if (state.opening) state.openForm.pick(latlng);
  else if (movable(state.selected)) move(latlng);
}

function render() {
  renderList($("#incident-list"), state.incidents, state.selectedId, select);
  renderFacts($("#facts"), $("#detail-title"), state.selected);
  // Redrawn only when what they act on changed, and never under the user's typing.
  const incident = state.selected;
  const key = incident ? [incident.incident_id, incident.status, incident.latitude, incident.longitude, incident.radius_m, language()].join("|") : "";
  const typing = $("#actions").contains(document.activeElement) && document.activeElement.tagName === "INPUT";
  if (key !== state.actionsKey && !(typing && incident && state.actionsKey.startsWith(`${incident.incident_id}|`))) {
    state.actionsKey = key;
    renderActions($("#actions"), incident, state.me, actionError, (message) => alertUser(message));
  }
  state.map.setIncident(state.selected, movable(state.selected));
  $("#map-hint").textContent = state.opening ? t("position_hint") : movable(state.selected) ? t("move_hint") : "";
}

function sameIncident(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function refreshIncidents() {
  const incidents = await api.get("/api/incidents");
  const before = state.selected;
  const changed = !sameIncident(incidents, state.incidents);
  state.incidents = incidents;
  state.selected = incidents.find((i) => i.incident_id === state.selectedId) || null;
  // A command the policy refused (a move, a close): its reason, as the server gives it.
  if (before && state.selected && state.selected.last_event_kind === "refused" && before.last_event !== state.selected.last_event) {
    actionError(t("refused_because", { reason: state.selected.reason || "" }));
  }
  if (state.selected && state.focusedId !== state.selected.incident_id) {
    state.focusedId = state.selected.incident_id; // e.g. the one just opened, once decided
    state.map.focus(state.selected);
  }
  if (changed) {
    render();
    cameraChoices($("#timeline-camera"), state.cameras, state.selected);
  }
}

async function refreshCameras() {
  if (!has("viewer")) return;
  const cameras = await api.get("/api/cameras");
  const changed = JSON.stringify(cameras.map((c) => c.camera_id)) !== JSON.stringify(state.cameras.map((c) => c.camera_id));
  state.cameras = cameras;
  if (changed) cameraChoices($("#timeline-camera"), cameras, state.selected);
  state.map.setCameras(cameras, state.me.operator);
  const { appeared, gone } = state.tiles.show(cameras);
  if (state.camerasLoaded) {
    for (const camera of appeared.filter((c) => c.shared)) {
      alertUser(t("camera_shared", { name: camera.name, operator: camera.operator }), "shared");
    }
    for (const camera of gone.filter((c) => c.shared)) {
      alertUser(t("camera_revoked", { name: camera.name, operator: camera.operator }), "revoked");
    }
  }
  state.camerasLoaded = true;
}

async function poll() {
  state.polling = true;
  for (;;) {
    try {
      await Promise.all([refreshIncidents(), refreshCameras()]);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        state.polling = false;
        showLogin();
        return;
      }
      document.body.dataset.pollError = error.message;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// ---------------------------------------------------------------- opening

function setOpening(opening) {
  state.opening = opening;
  $("#open-form").hidden = !opening;
  $("#new-incident").hidden = opening || !has("officer");
  if (!opening) state.map.showPick(null);
  else $("#open-form").elements.legal_basis.focus();
  render();
}

$("#new-incident").addEventListener("click", () => setOpening(true));
$("#open-cancel").addEventListener("click", () => setOpening(false));

state.openForm = wireOpenForm($("#open-form"), {
  onPick: (latlng) => state.map.showPick(latlng),
  onOpened: (incidentId) => {
    alertUser(t("open_sent", { id: incidentId }));
    state.selectedId = incidentId;
    state.selected = null;
    setOpening(false);
    $("#open-form").reset();
  },
});

// ---------------------------------------------------------------- archive

$("#timeline-load").addEventListener("click", () => {
  if (!state.selected || !$("#timeline-camera").value) {
    $("#timeline-error").textContent = t("choose_incident_first");
    return;
  }
  showTimeline({
    list: $("#timeline"),
    player: $("#player"),
    error: $("#timeline-error"),
    cameraId: $("#timeline-camera").value,
    incident: state.selected,
  });
});

// ---------------------------------------------------------------- language

$("#lang").addEventListener("change", (event) => setLanguage(event.target.value));
onLanguage(() => {
  $("#lang").value = language();
  if (!state.me) return;
  showWho();
  render();
  state.tiles.translate();
});

async function boot() {
  await startLanguage();
  $("#lang").value = language();
  const me = await whoAmI();
  if (me) await enterRoom(me);
  else showLogin();
  document.body.dataset.ready = "true";
}

boot();
