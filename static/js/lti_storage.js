// LTI platform storage (client side postMessages): keep the login's secret with the platform, or fetch it back
// and post the launch again. Only the registration's origin is spoken to and listened to, and an answer counts
// only for the message_id it was asked with. No answer within the timeout: the page says so and offers the
// new window (at launch, or at login when no cookie works); a login whose cookie may work goes on anyway.
(function () {
  "use strict";
  var configElement = document.getElementById("lti-storage-config");
  if (!configElement) { return; }
  var config = JSON.parse(configElement.textContent);
  var deadline = Date.now() + config.timeout;
  var waiting = {};

  function messageId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function frameNamed(name) {
    if (window.parent === window) { return null; }
    if (name === "_parent") { return window.parent; }
    try {
      return window.parent.frames[name] || window.top.frames[name] || null;
    } catch (error) {
      return null;
    }
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== config.origin) { return; }
    var data = event.data;
    if (!data || typeof data !== "object" || typeof data.message_id !== "string") { return; }
    var entry = waiting[data.message_id];
    if (!entry || data.subject !== entry.subject + ".response") { return; }
    delete waiting[data.message_id];
    entry.resolve(data);
  });

  // Resolves with the answer, or null when none came before `limit` (ms from now, capped by the deadline).
  function ask(target, subject, fields, limit) {
    return new Promise(function (resolve) {
      if (!target) { resolve(null); return; }
      var id = messageId();
      var message = {subject: subject, message_id: id};
      Object.keys(fields).forEach(function (key) { message[key] = fields[key]; });
      waiting[id] = {subject: subject, resolve: resolve};
      window.setTimeout(function () { delete waiting[id]; resolve(null); },
                        Math.max(0, Math.min(limit, deadline - Date.now())));
      target.postMessage(message, config.origin);
    });
  }

  // Which subject names the platform uses: `lti.*` or `org.imsglobal.lti.*` (both asked; the first answer wins).
  var CAPABILITIES_WAIT = 800;
  function capabilities() {
    var parent = window.parent === window ? null : window.parent;
    return new Promise(function (resolve) {
      var settled = false;
      function settle(value) { if (!settled) { settled = true; resolve(value); } }
      ["lti.", "org.imsglobal.lti."].forEach(function (prefix) {
        ask(parent, prefix + "capabilities", {}, CAPABILITIES_WAIT).then(function (answer) {
          if (answer) { settle({prefix: prefix, supported: answer.supported_messages || []}); }
        });
      });
      window.setTimeout(function () { settle(null); }, CAPABILITIES_WAIT);
    });
  }

  function subjectFor(found, operation) {
    if (!found) { return "lti." + operation; }
    var names = found.supported.map(function (item) { return item && item.subject; });
    var other = found.prefix === "lti." ? "org.imsglobal.lti." : "lti.";
    if (names.indexOf(found.prefix + operation) < 0 && names.indexOf(other + operation) >= 0) {
      return other + operation;
    }
    return found.prefix + operation;
  }

  function showFallback() {
    document.getElementById("lti-storage-waiting").hidden = true;
    document.getElementById("lti-storage-fallback").hidden = false;
  }

  var target = frameNamed(config.target);
  var operation = "value" in config ? "put_data" : "get_data";
  capabilities().then(function (found) {
    var fields = {key: config.key};
    if (operation === "put_data") { fields.value = config.value; }
    return ask(target, subjectFor(found, operation), fields, config.timeout);
  }).then(function (answer) {
    var ok = answer && !answer.error;
    if (operation === "put_data") {
      if (ok || config.fallback === "navigate") {
        window.location.replace(config.next);
      } else {
        showFallback();
      }
      return;
    }
    if (ok && typeof answer.value === "string" && answer.value) {
      var form = document.getElementById("lti-storage-form");
      form.elements.lti_storage_secret.value = answer.value;
      form.submit();
    } else {
      showFallback();
    }
  });
}());
