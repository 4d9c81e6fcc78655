#!/usr/bin/python3
"""Build step: turns api/openapi.yaml into a C file holding the document as compact JSON, so the
gateway serves GET /api/openapi.json from its own binary (no file to ship or find at run time).
Usage: yaml_to_c.py <openapi.yaml> <output.c>"""
import json
import sys

import yaml

with open(sys.argv[1], encoding="utf-8") as source:
    document = yaml.safe_load(source)
data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
rows = [",".join(str(b) for b in data[i:i + 32]) for i in range(0, len(data), 32)]
with open(sys.argv[2], "w", encoding="ascii") as out:
    out.write("/* Generated from api/openapi.yaml by api/yaml_to_c.py: do not edit. */\n")
    out.write("#include <stddef.h>\n")
    out.write("const unsigned char contract_openapi_json[] = {\n%s};\n" % ",\n".join(rows))
    out.write("const size_t contract_openapi_json_len = %d;\n" % len(data))
