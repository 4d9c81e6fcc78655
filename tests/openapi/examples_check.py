#!/usr/bin/env python3
"""Every operation of api/openapi.yaml is documented with examples, so the rule cannot rot:

- a non-empty `summary`;
- an example for every media type of its request body, if it has one;
- at least one 2xx response, and an example for every media type of each 2xx response with content;
- for every 4xx/5xx response it lists: a body with an example for each media type; every
  application/problem+json example (inline or a $ref to components/examples) a problem of that
  status whose `type` is `/problems/<slug>` and whose `title` is the title common/src/problem.c
  gives that slug (the one error body that is no problem: /readyz's 503 Readiness).

That the examples match their schemas is Redocly's no-invalid-media-type-examples (an error in
redocly.yaml); this script checks what the linter cannot know.
Usage: examples_check.py <openapi.yaml> <problem.c>
"""
import re
import sys

import yaml

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: examples_check.py <openapi.yaml> <problem.c>")
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        # Each kind starts {status, "slug", "Title", then its description (one or more strings).
        table = re.findall(r'\{\s*(\d{3}),\s*"([a-z-]+)",\s*"([^"]+)"\s*[,}]', f.read())
    if len(table) < 10:
        sys.exit(f"FAIL: found only {len(table)} problem kinds in {sys.argv[2]}")
    kinds = {f"/problems/{slug}": (int(status), title) for status, slug, title in table}

    def deref(node):
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"external reference {ref}")
            node = doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            seen += 1
            if seen > 20:
                raise ValueError(f"reference loop at {ref}")
        return node

    def example_values(media, where, errors):
        """The example values of a media type object; an error when it has none."""
        values = []
        if "example" in media:
            values.append(media["example"])
        for name, ex in (media.get("examples") or {}).items():
            ex = deref(ex)
            if "value" not in ex:
                errors.append(f"{where}: example {name} has no value")
            else:
                values.append(ex["value"])
        if not values:
            errors.append(f"{where}: no example")
        return values

    def check_problem(value, code, where, errors):
        kind = kinds.get(value.get("type") if isinstance(value, dict) else None)
        if kind is None:
            errors.append(f"{where}: example type {value.get('type')!r} is no problem type of problem.c")
        elif kind[0] != int(code) or value.get("status") != int(code):
            errors.append(f"{where}: example {value['type']} (status {value.get('status')}) under {code}")
        elif value.get("title") != kind[1]:
            errors.append(f"{where}: example title {value.get('title')!r}, problem.c says {kind[1]!r}")

    errors = []
    operations = problems_checked = 0
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            operations += 1
            name = f"{method.upper()} {path}"
            if not str(op.get("summary", "")).strip():
                errors.append(f"{name}: no summary")
            if "requestBody" in op:
                body = deref(op["requestBody"])
                content = body.get("content") or {}
                if not content:
                    errors.append(f"{name}: request body without content")
                for mt, media in content.items():
                    example_values(media, f"{name} request body {mt}", errors)
            responses = op.get("responses") or {}
            if not any(str(code).startswith("2") for code in responses):
                errors.append(f"{name}: no success (2xx) response")
            for code, response in responses.items():
                code = str(code)
                response = deref(response)
                content = response.get("content") or {}
                where = f"{name} {code}"
                if code.startswith("2"):
                    for mt, media in content.items():
                        example_values(media, f"{where} {mt}", errors)
                elif code[0] in "45":
                    if not content:
                        errors.append(f"{where}: an error response without a body")
                    for mt, media in content.items():
                        values = example_values(media, f"{where} {mt}", errors)
                        if mt != "application/problem+json":
                            continue  # /readyz's 503 is a Readiness body, never a problem
                        for value in values:
                            problems_checked += 1
                            check_problem(value, code, where, errors)
    if operations == 0:
        errors.append("no operations found")
    for e in errors:
        print(f"FAIL: {e}", file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"ok: {operations} operations with summaries and examples, {problems_checked} problem examples match problem.c")


if __name__ == "__main__":
    main()
