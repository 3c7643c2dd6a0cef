/* Publish form: show what applies to the chosen LTI version and switch the registration list
   with "Available to". Without this file every field shows and the server ignores what does not apply. */
(function () {
  "use strict";

  var version = document.getElementById("lti_version");
  if (!version) { return; }

  function showVersion() {
    document.querySelectorAll("[data-lti-version]").forEach(function (block) {
      block.hidden = block.getAttribute("data-lti-version") !== version.value;
    });
  }

  var registrations = document.getElementById("registrations");
  var choices = document.querySelectorAll("input[name='available_to']");

  function syncRegistrations() {
    if (!registrations) { return; }
    var selected = document.querySelector("input[name='available_to']:checked");
    registrations.disabled = !selected || selected.value !== "selected";
  }

  version.addEventListener("change", showVersion);
  choices.forEach(function (choice) { choice.addEventListener("change", syncRegistrations); });
  showVersion();
  syncRegistrations();
}());
