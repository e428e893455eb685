// The incident list and the selected incident's facts and actions. Actions are offered by
// role (officer: open, move, close; supervisor: hold and release evidence), each asking for
// what the law needs; the server decides, and its refusal is shown as it says it.

import { el, clear, $ } from "./dom.js";
import { api } from "./api.js";
import { t, formatTime, formatNumber } from "./i18n.js";

export function renderList(list, incidents, selectedId, onSelect) {
  clear(list);
  for (const incident of incidents) {
    const button = el(
      "button",
      {
        type: "button",
        class: `incident ${incident.status}`,
        "aria-current": incident.incident_id === selectedId ? "true" : undefined,
        onclick: () => onSelect(incident.incident_id),
      },
      el("span", { class: "kind" }, incident.kind ? t(`kind_${incident.kind}`) : t("kind_unknown")),
      el("span", { class: "state" }, t(`state_${incident.status}`)),
      el("span", { class: "id" }, incident.incident_id),
      el("span", { class: "when" }, formatTime(incident.last_event)),
    );
    list.append(el("li", {}, button));
  }
  $("#no-incidents").hidden = incidents.length > 0;
}

function fact(name, value) {
  return [el("dt", {}, name), el("dd", {}, value ?? "—")];
}

export function renderFacts(facts, title, incident) {
  clear(facts);
  if (!incident) {
    title.textContent = t("no_selection");
    return;
  }
  title.textContent = t("incident_title", {
    kind: incident.kind ? t(`kind_${incident.kind}`) : t("kind_unknown"),
    id: incident.incident_id,
  });
  facts.append(
    ...fact(t("state"), t(`state_${incident.status}`)),
    ...fact(t("operator"), incident.operator),
    ...fact(t("legal_basis"), incident.legal_basis),
    ...fact(t("opened_by"), incident.opened_by),
    ...fact(t("opened_at"), formatTime(incident.opened_at)),
    ...(incident.closed_at ? fact(t("closed_at"), formatTime(incident.closed_at)) : []),
    ...fact(t("position"), incident.latitude == null ? null : `${formatNumber(incident.latitude, 5)}, ${formatNumber(incident.longitude, 5)}`),
    ...fact(t("radius"), incident.radius_m == null ? null : formatNumber(incident.radius_m)),
    ...fact(t("shared_cameras"), incident.cameras.length ? incident.cameras.join(", ") : t("none")),
  );
  if (incident.reason) facts.append(...fact(t("refused_reason"), incident.reason));
}

/** The buttons and forms for what `me` may do on `incident`; `done` after each accepted act. */
export function renderActions(box, incident, me, showError, done) {
  clear(box);
  if (!incident || incident.operator !== me.operator) return;
  const roles = new Set(me.roles);
  if (roles.has("officer") && incident.status === "open") {
    // The same move as a click on the map, typed (keyboard users, a position read out on the
    // radio) and with a new radius.
    const field = (name, value, attrs) =>
      el("label", {}, el("span", {}, t(name === "radius_m" ? "radius" : name)), el("input", { name, type: "number", value, required: true, ...attrs }));
    const moveForm = el(
      "form",
      {
        class: "move",
        id: "move-form",
        onsubmit: async (event) => {
          event.preventDefault();
          const data = new FormData(event.currentTarget);
          try {
            await api.patch(`/api/incidents/${encodeURIComponent(incident.incident_id)}`, {
              latitude: Number(data.get("latitude")),
              longitude: Number(data.get("longitude")),
              radius_m: Number(data.get("radius_m")),
            });
            done(t("move_sent"));
          } catch (error) {
            showError(error.message);
          }
        },
      },
      field("latitude", incident.latitude, { step: "any", min: "-90", max: "90" }),
      field("longitude", incident.longitude, { step: "any", min: "-180", max: "180" }),
      field("radius_m", incident.radius_m, { min: "1", max: "100000" }),
      el("button", { type: "submit" }, t("move")),
    );
    box.append(
      moveForm,
      el(
        "button",
        {
          type: "button",
          id: "close-incident",
          onclick: async () => {
            try {
              await api.post(`/api/incidents/${encodeURIComponent(incident.incident_id)}/close`);
              done(t("close_sent"));
            } catch (error) {
              showError(error.message);
            }
          },
        },
        t("close"),
      ),
    );
  }
  if (roles.has("supervisor") && incident.status !== "refused") {
    const reason = el("input", { name: "reason", required: true, minlength: "3", maxlength: "500", id: "evidence-reason" });
    const act = (what) => async (event) => {
      event.preventDefault();
      if (!reason.reportValidity()) return;
      try {
        const result = await api.post(`/api/incidents/${encodeURIComponent(incident.incident_id)}/${what}`, { reason: reason.value });
        done(t(what === "hold" ? "held" : "released", { windows: formatNumber(result.windows), objects: formatNumber(result.objects) }));
      } catch (error) {
        showError(error.message);
      }
    };
    const download = el("p", { class: "download" });
    const exportPackage = async () => {
      if (!reason.reportValidity()) return;
      clear(download);
      download.append(t("exporting"));
      try {
        const result = await api.post(`/api/incidents/${encodeURIComponent(incident.incident_id)}/export`, { reason: reason.value });
        clear(download);
        download.append(el("a", { href: result.download, download: `${result.package}.zip`, id: "export-download" }, t("download_package", { files: formatNumber(result.files) })));
      } catch (error) {
        clear(download);
        showError(error.message);
      }
    };
    box.append(
      el(
        "form",
        { class: "evidence", onsubmit: act("hold") },
        el("label", {}, el("span", {}, t("evidence_reason")), reason),
        el("button", { type: "submit", id: "hold" }, t("hold")),
        el("button", { type: "button", id: "release", onclick: act("release") }, t("release")),
        el("button", { type: "button", id: "export", onclick: exportPackage }, t("export")),
      ),
      download,
    );
  }
}

/** Wire the "open an incident" form; `pickPosition` lets a map click fill the position. */
export function wireOpenForm(form, { onOpened, onPick }) {
  const error = form.querySelector(".error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const data = new FormData(form);
    const body = {
      kind: data.get("kind"),
      legal_basis: String(data.get("legal_basis") || "").trim(),
      radius_m: Number(data.get("radius_m")),
      latitude: Number(data.get("latitude")),
      longitude: Number(data.get("longitude")),
    };
    try {
      const accepted = await api.post("/api/incidents", body);
      onOpened(accepted.incident_id);
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  return {
    pick(latlng) {
      form.elements.latitude.value = latlng.lat.toFixed(6);
      form.elements.longitude.value = latlng.lng.toFixed(6);
      onPick(latlng);
    },
  };
}
