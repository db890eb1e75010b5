// Starts the vendored Swagger UI on /docs. A static file rather than an inline script, so the
// page runs under the console's Content-Security-Policy; no validator badge, which would load
// an image from another site.
(function () {
  "use strict";
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
