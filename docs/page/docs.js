// Starts Swagger UI on this server's /openapi.json. Everything the page uses
// comes from the todo-api binary; the page's Content-Security-Policy refuses
// anything else, so an accidental CDN reference would show as an error.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The default sends the document to validator.swagger.io for a badge.
    validatorUrl: null,
    displayRequestDuration: true,
    // Tokens stay in memory only: reload the page and they are gone.
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
