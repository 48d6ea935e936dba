// Progressive enhancement only: every page works without this script.
(function () {
  "use strict";
  var textarea = document.getElementById("query-text");
  if (!textarea) {
    return;
  }
  var hint = document.querySelector(".js-only");
  if (hint) {
    hint.hidden = false;
  }
  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      textarea.form.requestSubmit();
    }
  });
})();
