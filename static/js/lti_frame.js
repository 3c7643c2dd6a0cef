// Pages inside an LMS frame.
// 1. A cookie-less frame session (app/web/frame_session.py): the page names the token of the next request in
//    <meta name="lti-frame-token">; a followed same-site link gets it as `lti_frame`, a submitted form as a
//    hidden field. The token is added only when used, so it is not in links a user copies from the page.
// 2. lti.frameResize: when the platform lists it in its lti.capabilities answer (asked only of the origins this
//    session's launch allowed to frame it), the page tells it its height so the LMS frame has no scrollbar.
(function () {
  "use strict";
  var tokenMeta = document.querySelector('meta[name="lti-frame-token"]');
  if (tokenMeta) {
    var token = tokenMeta.getAttribute("content");
    var sameSite = function (url) { return url.origin === window.location.origin; };
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[href]") : null;
      if (!link || link.target === "_blank") { return; }
      var url = new URL(link.href, window.location.href);
      if (!sameSite(url) || url.pathname.indexOf("/static/") === 0) { return; }
      url.searchParams.set("lti_frame", token);
      link.href = url.toString();
    }, true);
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!sameSite(new URL(form.action || window.location.href, window.location.href))) { return; }
      var field = form.querySelector('input[name="lti_frame"]') || document.createElement("input");
      field.type = "hidden";
      field.name = "lti_frame";
      field.value = token;
      form.appendChild(field);
    }, true);
  }

  var originsMeta = document.querySelector('meta[name="lti-frame-origins"]');
  if (!originsMeta || window.parent === window) { return; }
  var origins = JSON.parse(originsMeta.getAttribute("content") || "[]");
  var asked = {};
  var platform = null;

  function id() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function sendHeight() {
    if (!platform) { return; }
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    window.parent.postMessage({subject: "lti.frameResize", message_id: id(), height: height}, platform);
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (origins.indexOf(event.origin) < 0 || !data || typeof data !== "object" || !asked[data.message_id] ||
        data.subject !== "lti.capabilities.response") { return; }
    delete asked[data.message_id];
    var supported = (data.supported_messages || []).some(function (item) {
      return item && item.subject === "lti.frameResize";
    });
    if (supported && !platform) {
      platform = event.origin;
      sendHeight();
      if (window.ResizeObserver) { new ResizeObserver(sendHeight).observe(document.documentElement); }
    }
  });

  origins.forEach(function (origin) {
    var messageId = id();
    asked[messageId] = true;
    // Delivered only if the frame's parent really is at `origin`; the others are dropped by the browser.
    window.parent.postMessage({subject: "lti.capabilities", message_id: messageId}, origin);
  });
}());
