/* /docs: Swagger UI from the vendored bundle, reading the app's own OpenAPI schema (no inline script). */
(function () {
  "use strict";
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    // The schema validator badge would ask validator.swagger.io: no request leaves the machine.
    validatorUrl: null,
  });
})();
