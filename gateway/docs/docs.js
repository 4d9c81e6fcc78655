// GET /docs: renders the gateway's OpenAPI document with Redoc, after adding a "Problem types"
// section made from /problems (the one table of problem kinds in common/src/problem.c), so the
// page explains every `type` an error can carry. Served by the gateway (gateway/src/docs.c)
// under a Content-Security-Policy that allows scripts from the gateway only.
"use strict";

(function () {
  var root = document.getElementById("redoc");
  var systemFonts = '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", ' +
    "Arial, sans-serif";
  var options = {
    hideDownloadButton: true, // the intro links /api/openapi.json itself
    expandResponses: "200,201",
    jsonSampleExpandLevel: 3,
    pathInMiddlePanel: true,
    theme: {
      // Only fonts the machine has: no request leaves for a web font.
      typography: {
        fontFamily: systemFonts,
        headings: { fontFamily: systemFonts },
        code: { fontFamily: '"DejaVu Sans Mono", Menlo, Consolas, monospace' },
      },
    },
  };

  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok) throw new Error("GET " + url + " answered " + response.status);
      return response.json();
    });
  }

  function cell(text) {
    return String(text).replace(/\|/g, "\\|");
  }

  function problemSection(problems) {
    var lines = [
      "",
      "# Problem types",
      "Every error is an RFC 9457 problem (`application/problem+json`) whose `type` is one of " +
        "these relative references; each has a page of its own, and " +
        "[/problems](/problems) lists them all (as JSON with `Accept: application/json`).",
      "",
      "| status | type | title | when, and what to do |",
      "|---|---|---|---|",
    ];
    problems.data.forEach(function (p) {
      lines.push("| " + p.status + " | [`" + p.type + "`](" + p.type + ") | " + cell(p.title) +
        " | " + cell(p.description) + " |");
    });
    return lines.join("\n") + "\n";
  }

  function fail(error) {
    root.textContent = "The API reference could not be shown: " + error.message +
      ". The contract itself is at /api/openapi.json.";
    root.setAttribute("data-state", "failed");
  }

  Promise.all([getJson(root.dataset.specUrl), getJson(root.dataset.problemsUrl)])
    .then(function (loaded) {
      var spec = loaded[0];
      spec.info.description = (spec.info.description || "") +
        "\n\nThe contract as JSON: [/api/openapi.json](/api/openapi.json).\n" +
        problemSection(loaded[1]);
      document.title = spec.info.title + " " + spec.info.version + " reference";
      window.Redoc.init(spec, options, root, function (error) {
        if (error) fail(error);
        else root.setAttribute("data-state", "rendered");
      });
    })
    .catch(fail);
})();
