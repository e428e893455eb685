// The room's interactive API docs: Swagger UI (web/node_modules/swagger-ui-dist, pinned by
// web/package-lock.json) on the service's own OpenAPI document. A served file, not an inline
// script, so that the page passes the Content-Security-Policy (script-src 'self').
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
  });
});
