// Progressive enhancement only: every page works without this script.
(function () {
  "use strict";

  // The query form: Ctrl+Enter (or Cmd+Enter) runs the query.
  var textarea = document.getElementById("query-text");
  if (textarea) {
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
  }

  // A syntax error: put the editor's cursor where the parser stopped.
  var place = document.querySelector(".error-place");
  if (textarea && place) {
    var lines = textarea.value.split("\n");
    var line = Number(place.getAttribute("data-line"));
    var offset = Number(place.getAttribute("data-column")) - 1;
    for (var i = 0; i < line - 1 && i < lines.length; i += 1) {
      offset += lines[i].length + 1;
    }
    textarea.focus();
    textarea.setSelectionRange(offset, offset + 1);
  }

  // Result tables: a button in each header sorts the rows by that column, again to reverse.
  function sortValue(row, index) {
    var cell = row.cells[index];
    return cell ? (cell.getAttribute("data-sort") || cell.textContent).trim() : "";
  }

  function compare(a, b) {
    var x = Number(a);
    var y = Number(b);
    if (a !== "" && b !== "" && !isNaN(x) && !isNaN(y)) {
      return x - y;
    }
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var body = table.tBodies[0];
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (header, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.title = table.getAttribute("data-sort-label") || "";
      while (header.firstChild) {
        button.appendChild(header.firstChild);
      }
      header.appendChild(button);
      button.addEventListener("click", function () {
        var ascending = header.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (other) {
          other.removeAttribute("aria-sort");
        });
        header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var order = compare(sortValue(a, index), sortValue(b, index));
          return ascending ? order : -order;
        });
        rows.forEach(function (row) {
          body.appendChild(row);
        });
      });
    });
  });
  // Citations: a button beside each one copies its text; without script the text is selectable.
  var copyLabel = document.documentElement.lang === "en" ? "Copy" : "Salin";
  var copiedLabel = document.documentElement.lang === "en" ? "Copied" : "Tersalin";
  Array.prototype.forEach.call(document.querySelectorAll("pre.cite-text"), function (pre) {
    if (!navigator.clipboard) {
      return;
    }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = copyLabel;
    button.setAttribute("aria-describedby", pre.id);
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(pre.textContent).then(function () {
        button.textContent = copiedLabel;
      });
    });
    pre.parentNode.insertBefore(button, pre.nextSibling);
  });
})();
