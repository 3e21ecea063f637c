/*! Ward embed, version 1: https://WARD/embed/v1.js (docs/embedding.md).
 *
 * Put <div data-ward-embed></div> where Ward should appear, and load this
 * script from your Ward relay. It puts Ward in an iframe there, with the
 * permissions passkeys need, a title, and the height Ward asks for. Ward
 * tells the page only what docs/embedding.md lists (never a message, a
 * name or a subject); the page hears it as DOM events on the container:
 * "ward:ready", "ward:resize", "ward:unread", "ward:auth", "ward:attention",
 * "ward:error". The container's `ward` property sends Ward the page's
 * requests: signOut(), open(thread), setTheme(theme), setLocale(locale).
 * This file never changes once published: a change is /embed/v2.js.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) {
    return;
  }
  var wardOrigin = new URL(script.src).origin;
  var frames = [];
  var events = ["ready", "resize", "unread", "auth", "attention", "error"];

  function post(entry, message) {
    message.ward = 1;
    if (entry.ready) {
      entry.frame.contentWindow.postMessage(message, wardOrigin);
    } else {
      entry.waiting.push(message);
    }
  }

  function mount(container) {
    if (container.ward) {
      return container.ward;
    }
    var frame = document.createElement("iframe");
    frame.src = wardOrigin + "/";
    frame.title = container.getAttribute("data-ward-title") || "Ward: messages with your care team";
    frame.allow = "publickey-credentials-get; publickey-credentials-create; clipboard-write";
    frame.style.cssText = "display:block;width:100%;min-width:320px;height:640px;border:0";
    var entry = { frame: frame, container: container, ready: false, waiting: [] };
    frames.push(entry);
    container.appendChild(frame);
    container.ward = {
      signOut: function () { post(entry, { type: "signOut" }); },
      open: function (thread) {
        post(entry, typeof thread === "string" ? { type: "open", thread: thread } : { type: "open" });
      },
      setTheme: function (theme) {
        theme = theme || {};
        post(entry, { type: "setTheme", accent: String(theme.accent || ""), scheme: String(theme.scheme || "") });
      },
      setLocale: function (locale) { post(entry, { type: "setLocale", locale: String(locale) }); }
    };
    return container.ward;
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== wardOrigin) {
      return;
    }
    var data = event.data;
    if (!data || data.ward !== 1 || events.indexOf(data.type) < 0) {
      return;
    }
    for (var i = 0; i < frames.length; i++) {
      var entry = frames[i];
      if (entry.frame.contentWindow !== event.source) {
        continue;
      }
      var detail = {};
      if (data.type === "ready") {
        entry.ready = true;
        var waiting = entry.waiting;
        entry.waiting = [];
        for (var j = 0; j < waiting.length; j++) {
          entry.frame.contentWindow.postMessage(waiting[j], wardOrigin);
        }
      } else if (data.type === "resize" && typeof data.height === "number" && isFinite(data.height)) {
        detail.height = Math.min(Math.max(Math.round(data.height), 320), 4000);
        entry.frame.style.height = detail.height + "px";
      } else if (data.type === "unread" && typeof data.count === "number") {
        detail.count = Math.max(0, Math.floor(data.count));
      } else if (data.type === "auth" && /^(signed-out|signed-in|locked)$/.test(data.state)) {
        detail.state = data.state;
      } else if (data.type === "error" && typeof data.code === "string") {
        detail.code = data.code.slice(0, 64);
      }
      entry.container.dispatchEvent(new CustomEvent("ward:" + data.type, { detail: detail }));
    }
  });

  function mountAll() {
    var found = document.querySelectorAll("[data-ward-embed]");
    for (var k = 0; k < found.length; k++) {
      mount(found[k]);
    }
  }
  window.WardEmbed = { version: 1, mount: mount };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountAll);
  } else {
    mountAll();
  }
})();
