// Search-as-you-type for /users is htmx's (see templates/users.html): the
// form asks for the results after a pause in typing and replaces the URL.
// The page is a plain GET form and works without either. This only leaves
// the blank fields out of htmx's request, so the address bar reads
// /users?search=…&sort=activity as before, not …&stream=&status=….
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    var form = document.getElementById("user-search");
    if (!form || event.detail.elt !== form) {
      return;
    }
    var values = event.detail.formData;
    var blank = [];
    values.forEach(function (value, name) {
      if (value === "") {
        blank.push(name);
      }
    });
    blank.forEach(function (name) {
      values.delete(name);
    });
  });
})();
