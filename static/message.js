// Live progress for /messages/{id} is htmx's (see
// templates/partials/message_progress.html): while the card says
// data-live="true" it replaces itself from /messages/{id}/progress every
// 2 s, and the poll that finds it final brings the rest of the page up to
// date. Without JavaScript the page is complete, only not live. This only
// skips the polls while the tab is hidden (htmx would evaluate a trigger
// filter for that, which the CSP forbids); they go on when it is shown.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeRequest", function (event) {
    var card = event.detail && event.detail.elt;
    if (document.hidden && card && card.matches && card.matches('[data-live="true"]')) {
      event.preventDefault();
    }
  });
})();
