// The query page's editor: CodeMirror 5 (the npm package, served by the query blueprint) over
// the form's textarea, with SPARQL highlighting and our own completion of prefixes and terms.
// Progressive enhancement only: without this script the textarea submits as it is.
(function () {
  "use strict";

  var textarea = document.getElementById("query-text");
  if (!textarea || typeof CodeMirror === "undefined" || !textarea.dataset.completions) {
    return;
  }
  var known = JSON.parse(textarea.dataset.completions);
  var prefixes = known.prefixes || {};
  var terms = known.terms || [];
  // The hint list stays open across the colon of a prefixed name.
  var CLOSING = /[\s()\[\]{};>,]/;

  var editor = CodeMirror.fromTextArea(textarea, {
    mode: "application/sparql-query",
    lineNumbers: true,
    lineWrapping: true,
    matchBrackets: true,
    indentUnit: 2,
    viewportMargin: Infinity,
    screenReaderLabel: textarea.dataset.editorLabel || "SPARQL",
    extraKeys: {
      "Ctrl-Enter": submit,
      "Cmd-Enter": submit,
      "Ctrl-Space": function (cm) {
        cm.showHint({ hint: complete, completeSingle: false, closeCharacters: CLOSING });
      },
    },
  });
  document.documentElement.classList.add("has-editor");

  function submit(cm) {
    cm.save();
    textarea.form.requestSubmit();
  }

  // The prefixes the query declares (PREFIX p: <...>), by name.
  function declared(text) {
    var found = {};
    var pattern = /PREFIX\s+([A-Za-z][\w.-]*)?:\s*</gi;
    var match;
    while ((match = pattern.exec(text))) {
      found[match[1] || ""] = true;
    }
    return found;
  }

  function declaration(name) {
    return "PREFIX " + name + ": <" + prefixes[name] + ">";
  }

  // Before the cursor: the word being typed (a prefix, or prefix:local) and the line's start.
  function complete(cm) {
    var cursor = cm.getCursor();
    var line = cm.getLine(cursor.line);
    var before = line.slice(0, cursor.ch);
    var word = /[A-Za-z][\w.-]*:?[\w.-]*$/.exec(before);
    var typed = word ? word[0] : "";
    var from = CodeMirror.Pos(cursor.line, cursor.ch - typed.length);
    var list = [];
    var inPrefixLine = /^\s*PREFIX\s+[\w.-]*$/i.test(before);
    Object.keys(prefixes).sort().forEach(function (name) {
      if (typed && name.lastIndexOf(typed.replace(/:$/, ""), 0) !== 0) {
        return;
      }
      if (inPrefixLine) {
        list.push({ text: name + ": <" + prefixes[name] + ">", displayText: declaration(name) });
      } else if (typed.indexOf(":") < 0) {
        list.push({ text: name + ":", displayText: name + ":  " + prefixes[name], prefix: name });
      }
    });
    if (!inPrefixLine && typed.length >= 2) {
      var lowered = typed.toLowerCase();
      terms.forEach(function (term) {
        if (term.toLowerCase().indexOf(lowered) === 0 || (typed.indexOf(":") < 0
            && term.toLowerCase().indexOf(":" + lowered) > 0)) {
          list.push({ text: term, prefix: term.split(":")[0] });
        }
      });
    }
    var result = { list: list.slice(0, 60), from: from, to: cursor };
    // A chosen prefix or term whose prefix the query does not declare brings its PREFIX line.
    CodeMirror.on(result, "pick", function (picked) {
      var name = picked.prefix;
      if (name && prefixes[name] && !declared(cm.getValue())[name]) {
        cm.replaceRange(declaration(name) + "\n", CodeMirror.Pos(0, 0));
      }
    });
    return result;
  }

  // Completion opens by itself on a PREFIX line, and on a name that starts like a known prefix
  // (lower case, as prefixes are: keywords, in capitals, open nothing) or has its colon.
  editor.on("inputRead", function (cm, change) {
    if (change.origin !== "+input" || cm.state.completionActive) {
      return;
    }
    var cursor = cm.getCursor();
    var before = cm.getLine(cursor.line).slice(0, cursor.ch);
    var token = cm.getTokenAt(cursor);
    if (token.type === "string" || token.type === "comment" || token.type === "variable-2") {
      return;
    }
    var word = /(?:^|[^\w:?$<"'.-])([a-z][\w.-]*:?[\w.-]*)$/.exec(before);
    var opens = /^\s*PREFIX\s+[\w.-]*$/i.test(before)
      || (word && (word[1].indexOf(":") > 0 || Object.keys(prefixes).some(function (name) {
        return name.lastIndexOf(word[1], 0) === 0;
      })));
    if (opens) {
      cm.showHint({ hint: complete, completeSingle: false, closeCharacters: CLOSING });
    }
  });

  // A syntax error: mark the spot the parser stopped at, and put the cursor there.
  var place = document.querySelector(".error-place");
  if (place) {
    var line = Number(place.getAttribute("data-line")) - 1;
    var column = Number(place.getAttribute("data-column")) - 1;
    if (line < editor.lineCount()) {
      var length = editor.getLine(line).length;
      editor.addLineClass(line, "background", "cm-error-line");
      if (column < length) {
        editor.markText(CodeMirror.Pos(line, column), CodeMirror.Pos(line, column + 1), {
          className: "cm-error-spot",
        });
      }
      editor.setCursor(CodeMirror.Pos(line, Math.min(column, length)));
      editor.focus();
    }
  }
})();
