// The connector form (templates/connectors/form.html): show only what applies, and test the connection
// without leaving the page.
(function () {
  "use strict";
  var form = document.querySelector("form.connector-form");
  if (!form) return;

  // The chosen users and groups only matter for the "chosen" scope.
  var scopeLists = ["id_allowed_users", "id_allowed_groups"].map(function (id) {
    var list = document.getElementById(id);
    return list ? list.closest(".field") : null;
  }).filter(Boolean);
  function showScopeLists() {
    var chosen = form.querySelector('input[name="scope"]:checked');
    scopeLists.forEach(function (field) { field.hidden = !chosen || chosen.value !== "chosen"; });
  }

  // An environment's settings are open while it is ticked.
  var environments = Array.prototype.slice.call(form.querySelectorAll("fieldset.environment"));
  function showEnvironments() {
    environments.forEach(function (fieldset) {
      var toggle = form.querySelector('input[name="' + fieldset.dataset.toggle + '"]');
      var open = !toggle || toggle.checked;
      fieldset.classList.toggle("closed", !open);
      fieldset.querySelector(".environment-settings").hidden = !open;
    });
  }

  // Settings that apply to one value of another (the SAP transports): hidden otherwise.
  var conditional = Array.prototype.slice.call(form.querySelectorAll("[data-shown-when]"));
  function showApplicable() {
    conditional.forEach(function (field) {
      var control = form.querySelector('[name="' + field.dataset.shownWhen + '"]');
      var value = (control && control.value) || field.dataset.shownDefault;
      field.hidden = value !== field.dataset.shownValue;
    });
    // A group whose settings all do not apply goes with them (SOAP has no load balancing).
    form.querySelectorAll(".setting-group").forEach(function (group) {
      group.hidden = !group.querySelector(".field:not([hidden])");
    });
  }

  function update() {
    showScopeLists();
    showEnvironments();
    showApplicable();
  }
  form.addEventListener("change", update);
  update();

  // "Test connection": the same fields, answered with each environment's result side by side.
  var button = document.getElementById("test-connection");
  var results = document.getElementById("live-test-results");
  button.addEventListener("click", function () {
    var body = new FormData(form);
    body.append("action", "test");
    button.disabled = true;
    button.textContent = "Testing…";
    results.innerHTML = '<p class="muted">Testing the connection of each ticked environment…</p>';
    fetch(form.action || window.location.href, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    })
      .then(function (response) {
        return response.text().then(function (html) {
          if (response.status !== 200 && response.status !== 400) {
            throw new Error("the server answered " + response.status);
          }
          results.innerHTML = html;
        });
      })
      .catch(function (error) {
        results.innerHTML = "";
        var p = document.createElement("p");
        p.className = "error";
        p.textContent = "The test could not run: " + error.message + ". Try again.";
        results.appendChild(p);
      })
      .finally(function () {
        button.disabled = false;
        button.textContent = "Test connection";
        results.scrollIntoView({ block: "nearest" });
      });
  });
})();
