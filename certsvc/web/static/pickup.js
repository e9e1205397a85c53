// Pickup page: a PKCS#12 download, then the install steps. Without this script the form
// still works (the browser saves the file; the page links to the install steps).
"use strict";
(function () {
  var first = document.querySelector("[autofocus]") || document.getElementById("form-error");
  if (first) { first.setAttribute("tabindex", first.tabIndex < 0 ? "-1" : first.tabIndex); first.focus(); }
  var form = document.getElementById("pickup-form");
  if (!form || !window.fetch) { return; }
  form.addEventListener("submit", function (event) {
    var choice = form.querySelector("input[name=delivery]:checked");
    if (choice && choice.value !== "pkcs12") { return; }
    if (!choice && !form.querySelector("input[name=delivery]")) { return; }
    event.preventDefault();
    var button = document.getElementById("submit");
    button.disabled = true;
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (answer) {
        var type = answer.headers.get("content-type") || "";
        if (answer.ok && type.indexOf("application/x-pkcs12") === 0) {
          var name = /filename="([^"]+)"/.exec(answer.headers.get("content-disposition") || "");
          return answer.blob().then(function (blob) {
            var link = document.createElement("a");
            link.href = URL.createObjectURL(blob);
            link.download = name ? name[1] : "certificate.p12";
            document.body.appendChild(link);
            link.click();
            setTimeout(function () { window.location.assign(form.dataset.install); }, 500);
          });
        }
        return answer.text().then(function (html) {
          document.open();
          document.write(html);
          document.close();
        });
      })
      .catch(function () { button.disabled = false; form.submit(); });
  });
})();
