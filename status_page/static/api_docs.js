// The API reference page (/api/v1/docs): Swagger UI on the documents named by the
// container's data-specs ([{"name", "url"}, ...]). A file of its own, not an inline
// script, so that the page's Content-Security-Policy can say script-src 'self'.
window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  const specs = JSON.parse(root.dataset.specs);
  window.ui = SwaggerUIBundle({
    urls: specs,
    "urls.primaryName": specs[0].name,
    domNode: root,
    deepLinking: true,
    // The default asks validator.swagger.io about the document: no third-party requests.
    validatorUrl: null,
    tryItOutEnabled: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
  });
});
