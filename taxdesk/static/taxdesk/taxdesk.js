/* TaxDesk: the pages' own behaviour, a static file. The Content-Security-Policy allows no
   inline script, no inline event handler (onchange="…") and no style attribute, so pages mark
   elements with data attributes and this file acts on them. */
(function () {
  "use strict";

  // <select data-submit-on-change>: choosing an option sends the form.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("[data-submit-on-change]") && field.form) {
      field.form.requestSubmit();
    }
  });

  // <div data-width="40">: the width as a percentage (progress bars), also in content that
  // htmx swaps in.
  function setWidths(root) {
    root.querySelectorAll("[data-width]").forEach(function (element) {
      element.style.width = element.getAttribute("data-width") + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { setWidths(document); });
  document.addEventListener("htmx:load", function (event) { setWidths(event.detail.elt); });
})();
