/* Registration view: the tabs are links (?tab=…) that also switch in place when JavaScript runs. */
(function () {
  "use strict";
  document.querySelectorAll("[data-tabset]").forEach(function (tabset) {
    var links = tabset.querySelectorAll(".tabs a[id^='tab-']");
    function show(key) {
      links.forEach(function (link) {
        var active = link.id === "tab-" + key;
        link.classList.toggle("active", active);
        if (active) { link.setAttribute("aria-current", "page"); } else { link.removeAttribute("aria-current"); }
        var panel = document.getElementById(link.id.slice(4));
        if (panel) { panel.hidden = !active; }
      });
    }
    links.forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
        event.preventDefault();
        var key = link.id.slice(4);
        show(key);
        history.replaceState(null, "", link.href);
      });
    });
  });
}());
