// Live progress for /messages/{id} (hand-written, no dependencies). The
// server renders the progress card (#progress) with `data-live="true"`
// while the broadcast may still change by itself; this fetches the same
// card from its `data-src` every 2 s and swaps it in, and stops once a
// fresh card says it is final. Without JavaScript the page is complete,
// only not live.
(function () {
  "use strict";
  var INTERVAL_MS = 2000;
  if (!window.fetch || !window.DOMParser) {
    return;
  }

  function current() {
    return document.getElementById("progress");
  }

  function live(card) {
    return card && card.getAttribute("data-live") === "true" && card.getAttribute("data-src");
  }

  // Once final, the rest of the page (finish time, recipients) is brought
  // up to date from the page itself, still without a reload.
  function settle() {
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        ["about", "recipients"].forEach(function (id) {
          var fresh = page.getElementById(id);
          var old = document.getElementById(id);
          if (fresh && old) {
            old.replaceWith(document.importNode(fresh, true));
          }
        });
      })
      .catch(function () {
        // The progress card is current; the rest shows on the next visit.
      });
  }

  function poll() {
    var card = current();
    if (!live(card)) {
      return;
    }
    if (document.hidden) {
      window.setTimeout(poll, INTERVAL_MS);
      return;
    }
    fetch(card.getAttribute("data-src"), {
      credentials: "same-origin",
      headers: { "Accept": "text/html" }
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("progress");
        if (fresh) {
          current().replaceWith(document.importNode(fresh, true));
          if (!live(current())) {
            settle();
          }
        }
      })
      .catch(function () {
        // Keep the last card; try again next time.
      })
      .then(function () {
        if (live(current())) {
          window.setTimeout(poll, INTERVAL_MS);
        }
      });
  }

  if (live(current())) {
    window.setTimeout(poll, INTERVAL_MS);
  }
})();
