// Keeps the tablet's home page current (docs/tablet.md): every data-every seconds, ask /version
// (a digest of what the page shows) and reload only when it changed. No library, no network
// beyond this gateway; without JavaScript the page still works (reload by hand).
(function () {
  "use strict";
  var body = document.body;
  var every = Number(body.getAttribute("data-every")) || 30;
  var shown = body.getAttribute("data-version");
  function check() {
    fetch("/version", { cache: "no-store" })
      .then(function (answer) { return answer.ok ? answer.text() : shown; })
      .then(function (now) { if (now !== shown) { window.location.reload(); } })
      .catch(function () { /* the gateway is restarting: try again later */ });
  }
  window.setInterval(check, every * 1000);
})();
