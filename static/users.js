// Search-as-you-type for /users (hand-written, no dependencies). The page is
// a plain GET form and works without this: here, typing in the search box
// waits until the typing pauses (debounce), fetches the same page for the
// form's values and swaps in its results, keeping the URL in step.
(function () {
  "use strict";
  var form = document.getElementById("user-search");
  var results = document.getElementById("results");
  if (!form || !results || !window.fetch || !window.DOMParser) {
    return;
  }
  var input = form.querySelector("[data-live-search]");
  var DELAY_MS = 300;
  var timer = null;
  var latest = 0;

  function query() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (value !== "") {
        params.append(name, value);
      }
    });
    return params.toString();
  }

  function refresh() {
    var qs = query();
    var url = "/users" + (qs ? "?" + qs : "");
    var ticket = ++latest;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        // An older answer arriving late must not replace a newer one.
        if (ticket !== latest) {
          return;
        }
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("results");
        if (fresh) {
          results.replaceChildren.apply(results, Array.prototype.slice.call(fresh.childNodes));
          window.history.replaceState(null, "", url);
        }
      })
      .catch(function () {
        // Leave the results as they are; submitting the form still works.
      });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, DELAY_MS);
  }

  if (input) {
    input.addEventListener("input", schedule);
  }
  form.querySelectorAll("select").forEach(function (select) {
    select.addEventListener("change", schedule);
  });
})();
