/*! Ward embed, version 1: https://WARD/embed/v1.js (docs/embedding.md).
 *
 * Put <div data-ward-embed></div> where Ward should appear, and load this
 * script from your Ward relay. It puts Ward in an iframe there, with the
 * permissions passkeys need, a title, and the height Ward asks for. Ward
 * tells the page only what docs/embedding.md lists (never a message, a
 * name or a subject); the page hears it as DOM events on the container:
 * "ward:ready", "ward:resize", "ward:unread", "ward:auth", "ward:attention",
 * "ward:error". WardEmbed.mount(container) returns what sends Ward the
 * page's requests: signOut(), open(thread), setTheme(theme),
 * setLocale(locale); the container's `ward` property is the same object.
 * This file never changes once published: a change is /embed/v2.js.
 */
(function () {
  "use strict";
  // Only a real <script> element: markup injected into the page (an
  // element named "currentScript") must not choose the frame's origin.
  var script = document.currentScript;
  if (!(script instanceof HTMLScriptElement) || !script.src) {
    return;
  }
  var wardOrigin = new URL(script.src).origin;
  var mounted = [];
  var events = ["ready", "resize", "unread", "auth", "attention", "error"];

  function deliver(entry, message) {
    var target = entry.frame.contentWindow;
    if (target) {
      target.postMessage(message, wardOrigin);
    }
  }

  function post(entry, message) {
    message.ward = 1;
    if (entry.ready) {
      deliver(entry, message);
    } else {
      entry.waiting.push(message);
    }
  }

  // The checked detail of one of Ward's messages, or null to drop it.
  function detailOf(data) {
    switch (data.type) {
      case "ready":
      case "attention":
        return {};
      case "resize":
        return typeof data.height === "number" && isFinite(data.height)
          ? { height: Math.min(Math.max(Math.round(data.height), 320), 4000) }
          : null;
      case "unread":
        return typeof data.count === "number" && isFinite(data.count) && data.count >= 0
          ? { count: Math.floor(data.count) }
          : null;
      case "auth":
        return typeof data.state === "string" && /^(signed-out|signed-in|locked)$/.test(data.state)
          ? { state: data.state }
          : null;
      case "error":
        return typeof data.code === "string" && /^[a-z_]{1,64}$/.test(data.code)
          ? { code: data.code }
          : null;
      default:
        return null;
    }
  }

  function mount(container) {
    for (var i = 0; i < mounted.length; i++) {
      if (mounted[i].container === container) {
        return mounted[i].api;
      }
    }
    var frame = document.createElement("iframe");
    frame.src = wardOrigin + "/";
    frame.title = container.getAttribute("data-ward-title") || "Ward: messages with your care team";
    frame.allow = "publickey-credentials-get; publickey-credentials-create; clipboard-write";
    frame.style.cssText = "display:block;width:100%;min-width:320px;height:640px;border:0";
    var entry = { frame: frame, container: container, ready: false, waiting: [] };
    // A reload of the frame (a sign-out, a new version) waits for its
    // next "ready" before requests go to it again.
    frame.addEventListener("load", function () {
      entry.ready = false;
    });
    entry.api = {
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
    mounted.push(entry);
    container.appendChild(frame);
    container.ward = entry.api;
    return entry.api;
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== wardOrigin) {
      return;
    }
    var data = event.data;
    if (!data || typeof data !== "object" || data.ward !== 1 || events.indexOf(data.type) < 0) {
      return;
    }
    for (var i = 0; i < mounted.length; i++) {
      var entry = mounted[i];
      if (!event.source || entry.frame.contentWindow !== event.source) {
        continue;
      }
      var detail = detailOf(data);
      if (!detail) {
        return;
      }
      if (data.type === "ready") {
        entry.ready = true;
        var waiting = entry.waiting;
        entry.waiting = [];
        for (var j = 0; j < waiting.length; j++) {
          deliver(entry, waiting[j]);
        }
      } else if (data.type === "resize") {
        entry.frame.style.height = detail.height + "px";
      }
      entry.container.dispatchEvent(new CustomEvent("ward:" + data.type, { detail: detail }));
      return;
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
