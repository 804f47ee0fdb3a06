/* /redoc: Redoc from the vendored bundle, reading the app's own OpenAPI schema (no inline script).
 * Search runs in a blob: Web Worker, which the page's CSP does not allow: it is turned off. */
(function () {
  "use strict";
  Redoc.init("/openapi.json", { disableSearch: true }, document.getElementById("redoc"));
})();
