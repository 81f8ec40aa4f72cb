// The GOV.UK page template's body classes, from a file because the CSP allows no inline script:
// components style themselves for JavaScript only where it will run (ES modules supported).
document.body.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
