// The broadcast composer. The form works without scripts: every button
// posts it and the server answers. The side panel (recipient count, length,
// preview, mistakes) is htmx's: the form posts itself to the panel's URL
// after a pause in editing (see templates/compose.html). Hand-written here,
// where htmx does not fit: people are found by name, @username or id and
// added as chips; button rows are added and removed in place; both ask the
// panel to refresh; notes by the fields follow the panel; a send is
// submitted once; deletions ask first.
(function () {
  "use strict";

  // Forms that must be submitted at most once, and forms that ask first.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var question = form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        return;
      }
      var once = form.querySelector("[data-once]");
      if (!once || (event.submitter && event.submitter !== once)) {
        return;
      }
      if (form.getAttribute("data-sent")) {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-sent", "1");
      once.classList.add("busy");
      once.setAttribute("aria-busy", "true");
    });
  });

  var form = document.getElementById("composer");
  if (!form) {
    return;
  }

  // --- the live panel ---------------------------------------------------
  // Changes made here fire no input event: ask htmx (hx-trigger="change").
  function schedule() {
    form.dispatchEvent(new Event("change"));
  }

  // A mistake fixed since the page was shown loses its note by the field.
  function settleFieldErrors(panel) {
    var open = {};
    panel.querySelectorAll("[data-field]").forEach(function (item) {
      open[item.getAttribute("data-field")] = true;
    });
    form.querySelectorAll(".field-error[data-field]").forEach(function (note) {
      note.hidden = !open[note.getAttribute("data-field")];
    });
  }

  document.addEventListener("htmx:afterSettle", function () {
    var panel = document.getElementById("compose-live");
    if (panel) {
      settleFieldErrors(panel);
    }
  });

  // --- people: chips and search -----------------------------------------
  var ids = document.getElementById("user_ids");
  var chips = document.getElementById("chips");
  var search = document.getElementById("people-search");
  var query = document.getElementById("people-q");
  var results = document.getElementById("people-results");

  function idList() {
    return ids.value.split(/[\s,;]+/).filter(function (token) {
      return token !== "";
    });
  }

  function setIds(list) {
    ids.value = list.join(" ");
    schedule();
  }

  function removeButton(chip) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "×";
    button.setAttribute("aria-label", "Убрать " + chip.textContent.trim());
    button.addEventListener("click", function () {
      var id = chip.getAttribute("data-id");
      setIds(idList().filter(function (token) {
        return token !== id;
      }));
      chip.remove();
      if (query) {
        query.focus();
      }
    });
    chip.appendChild(button);
  }

  function addChip(id, label) {
    if (idList().indexOf(id) !== -1) {
      return;
    }
    var chip = document.createElement("span");
    chip.className = "chip";
    chip.setAttribute("data-id", id);
    chip.appendChild(document.createTextNode(label + " "));
    var muted = document.createElement("span");
    muted.className = "muted";
    muted.textContent = id;
    chip.appendChild(muted);
    removeButton(chip);
    chips.appendChild(chip);
    setIds(idList().concat([id]));
  }

  function personLabel(user) {
    var name = [user.first_name, user.last_name].filter(Boolean).join(" ") || "—";
    return user.username ? name + " @" + user.username : name;
  }

  var searchTimer = null;
  var searchTicket = 0;
  var found = [];
  var active = -1;

  function highlight(index) {
    active = index;
    Array.prototype.forEach.call(results.children, function (item, i) {
      item.setAttribute("aria-selected", i === index ? "true" : "false");
    });
  }

  function pick(index) {
    var user = found[index];
    if (!user) {
      return;
    }
    addChip(String(user.user_id), personLabel(user));
    query.value = "";
    results.replaceChildren();
    found = [];
    active = -1;
  }

  function lookUp() {
    var text = query.value.trim();
    var ticket = ++searchTicket;
    if (text === "") {
      results.replaceChildren();
      found = [];
      return;
    }
    var url = "/api/users?limit=8&search=" + encodeURIComponent(text);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (body) {
        if (ticket !== searchTicket) {
          return;
        }
        found = body.users || [];
        results.replaceChildren();
        found.forEach(function (user, index) {
          var item = document.createElement("li");
          item.setAttribute("role", "option");
          item.textContent = personLabel(user) + " · " + user.user_id;
          item.addEventListener("mousedown", function (event) {
            event.preventDefault();
            pick(index);
          });
          results.appendChild(item);
        });
        if (found.length === 0) {
          var none = document.createElement("li");
          none.className = "muted";
          none.textContent = "Никого не нашлось";
          results.appendChild(none);
        }
        highlight(found.length ? 0 : -1);
      })
      .catch(function () {
        results.replaceChildren();
      });
  }

  if (window.fetch && ids && chips && search && query && results) {
    search.hidden = false;
    Array.prototype.forEach.call(chips.querySelectorAll(".chip"), removeButton);
    query.addEventListener("input", function (event) {
      // Typing a name to look up is no change to the form (the field has no
      // name): keep it from htmx's trigger on the form.
      event.stopPropagation();
      window.clearTimeout(searchTimer);
      searchTimer = window.setTimeout(lookUp, 250);
    });
    query.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" && found.length) {
        event.preventDefault();
        highlight(Math.min(active + 1, found.length - 1));
      } else if (event.key === "ArrowUp" && found.length) {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter") {
        // Enter picks a person; it never submits the form from here.
        event.preventDefault();
        if (active >= 0) {
          pick(active);
        }
      } else if (event.key === "Escape") {
        query.value = "";
        results.replaceChildren();
        found = [];
      }
    });
  }

  // --- the buttons editor -----------------------------------------------
  var editor = document.getElementById("button-editor");
  var add = document.getElementById("add-button");

  function wire(row) {
    var remove = row.querySelector(".remove-button");
    if (!remove) {
      return;
    }
    remove.hidden = false;
    remove.addEventListener("click", function () {
      var rows = editor.querySelectorAll(".button-slot");
      if (rows.length > 1) {
        row.remove();
      } else {
        row.querySelectorAll("input").forEach(function (input) {
          if (input.name !== "button_row") {
            input.value = "";
          }
        });
      }
      schedule();
    });
  }

  if (editor && add) {
    Array.prototype.forEach.call(editor.querySelectorAll(".button-slot"), wire);
    add.addEventListener("click", function (event) {
      event.preventDefault();
      var rows = editor.querySelectorAll(".button-slot");
      var last = rows[rows.length - 1];
      var row = last.cloneNode(true);
      var highest = 0;
      Array.prototype.forEach.call(rows, function (slot) {
        var n = parseInt(slot.querySelector("[name=button_row]").value, 10);
        if (n > highest) {
          highest = n;
        }
      });
      row.querySelectorAll("input").forEach(function (input) {
        input.value = input.name === "button_row" ? String(highest + 1) : "";
      });
      row.querySelector("select").value = "url";
      var remove = row.querySelector(".remove-button");
      remove.replaceWith(remove.cloneNode(true));
      last.after(row);
      wire(row);
      row.querySelector("[name=button_text]").focus();
    });
  }
})();
