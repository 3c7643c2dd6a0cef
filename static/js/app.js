/* Courseport: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  function toast(message) {
    var region = document.getElementById("toast-region");
    if (!region) { return; }
    var item = document.createElement("div");
    item.className = "toast";
    item.textContent = message;
    region.appendChild(item);
    setTimeout(function () { item.remove(); }, 4000);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-http development and some LMS frames have no async clipboard: fall back to a selection copy.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      area.remove();
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) { return; }
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    var label = button.getAttribute("data-copy-label");
    copyText(input.value).then(function () {
      toast(label + " copied to clipboard");
    }, function () {
      input.focus();
      input.select();
      toast("Press Ctrl+C to copy the " + label);
    });
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) { event.target.select(); }
  });

  // Confirm before a destructive POST: <form data-confirm="Are you sure…?">.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });

  // A control that switches other fields on and off: <input data-controls="id1 id2"> (checkbox or select
  // with data-controls-value="value that enables").
  function syncControlled(control) {
    var enabled = control.type === "checkbox" ? control.checked
      : control.value === (control.getAttribute("data-controls-value") || control.value);
    control.getAttribute("data-controls").split(/\s+/).forEach(function (id) {
      var target = document.getElementById(id);
      if (target) { target.disabled = !enabled; }
    });
  }
  document.querySelectorAll("[data-controls]").forEach(function (control) {
    syncControlled(control);
    control.addEventListener("change", function () { syncControlled(control); });
  });
  window.Courseport = { toast: toast };
}());
