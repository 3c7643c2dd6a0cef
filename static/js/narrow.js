/* Narrow screens: the header menu button, and keyboard access to tables that scroll sideways in their box. */
(function () {
  "use strict";

  var toggle = document.querySelector(".site-header .nav-toggle");
  if (toggle) {
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    var setOpen = function (open) { toggle.setAttribute("aria-expanded", open ? "true" : "false"); };
    toggle.hidden = false;
    setOpen(false);
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    // Escape closes an open menu and gives focus back to its button, as for any disclosure.
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        if (menu.contains(document.activeElement)) { toggle.focus(); }
      }
    });
  }

  // A table wider than the screen scrolls inside its own box (see app.css); a keyboard user scrolls it once
  // it can take focus, so only a table that actually overflows joins the tab order.
  function markScrollingTables() {
    document.querySelectorAll("main table").forEach(function (table) {
      if (table.scrollWidth > table.clientWidth + 1) {
        table.setAttribute("tabindex", "0");
      } else if (table.getAttribute("tabindex") === "0") {
        table.removeAttribute("tabindex");
      }
    });
  }
  markScrollingTables();
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(markScrollingTables, 150);
  });
}());
