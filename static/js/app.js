/* Courseport: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // One toast at a time: a new one replaces the last instead of stacking up. With `anchor` (a copy button) it
  // sits just left of that button, over the field it copied, so it never hides another row's buttons.
  var toastTimer = null;
  function toast(message, anchor) {
    var region = document.getElementById("toast-region");
    if (!region) { return; }
    clearTimeout(toastTimer);
    region.textContent = "";
    region.style.top = region.style.right = region.style.bottom = "";
    region.style.maxWidth = "";
    var box = anchor ? anchor.getBoundingClientRect() : null;
    // Beside the button, over its own field (wrapping on a narrow screen); the corner when there is no room.
    if (box && box.left >= 160) {
      region.style.top = Math.max(box.top, 0) + "px";
      region.style.right = (document.documentElement.clientWidth - box.left + 6) + "px";
      region.style.bottom = "auto";
      region.style.maxWidth = (box.left - 14) + "px";
    }
    var item = document.createElement("div");
    item.className = "toast";
    item.textContent = message;
    region.appendChild(item);
    toastTimer = setTimeout(function () { item.remove(); }, 4000);
  }
  // A toast placed beside a button would be left behind when the layout moves.
  window.addEventListener("resize", function () {
    var region = document.getElementById("toast-region");
    if (region && region.style.top) { region.textContent = ""; }
  });

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
      toast(label + " copied to clipboard", button);
    }, function () {
      input.focus();
      input.select();
      toast("Press Ctrl+C to copy the " + label, button);
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
  // Read-only copy fields grow to their text; browsers without CSS field-sizing get the height from script.
  if (!(window.CSS && CSS.supports("field-sizing", "content"))) {
    var fit = function () {
      document.querySelectorAll("textarea.copy-input").forEach(function (area) {
        area.style.height = "auto";
        area.style.height = area.scrollHeight + "px";
      });
    };
    fit();
    window.addEventListener("resize", fit);
  }

  // A form that came back with errors: focus its error summary, and let each link there focus its field
  // (opening a collapsed section first), since following an in-page link only scrolls.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!field) { return; }
      event.preventDefault();
      var section = field.closest("details");
      if (section) { section.open = true; }
      field.focus();
      field.scrollIntoView({ block: "center" });
    });
  }

  window.Courseport = { toast: toast };
}());
