#!/usr/bin/env python3
"""validate.py - check an ARM response body against the OpenAPI (swagger 2.0) spec.

Usage:
    validate.py SPEC_FILE METHOD REQUEST_PATH STATUS [BODY_FILE]   (body from stdin if omitted)

The response schema is the one the spec declares for the operation whose path
template matches REQUEST_PATH (literals compare case-insensitively, {x} matches
one segment; a query string is ignored) and for STATUS. $refs are resolved
within the spec file, across files relative to the referring file, and any
reference into ".../common-types/..." is read from the common-types folder
found next to the spec's service folder (see tests/contract/specs/README.md).

Checked: required properties, JSON types, enums, x-nullable, allOf, nested
objects, arrays, additionalProperties maps, and the formats date-time, uuid
and uri. Unknown properties are allowed (swagger objects are open). Only the
Python standard library is used. Exit status 0 when valid; 1 with one line
per problem otherwise; 2 on usage errors.
"""
import json
import os
import re
import sys

DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s]+$")


class Specs:
    """Loads spec files on demand and resolves $ref pointers."""

    def __init__(self, root_file):
        self.root_file = os.path.abspath(root_file)
        self.cache = {}
        # common-types lives next to the service folders: <specs>/common-types/...
        d = os.path.dirname(self.root_file)
        self.common = None
        while d and d != os.path.dirname(d):
            if os.path.isdir(os.path.join(d, "common-types")):
                self.common = os.path.join(d, "common-types")
                break
            d = os.path.dirname(d)

    def load(self, path):
        path = os.path.normpath(path)
        if path not in self.cache:
            with open(path, encoding="utf-8") as f:
                self.cache[path] = json.load(f)
        return self.cache[path]

    def locate(self, base_file, ref_file):
        if "common-types/" in ref_file and self.common:
            rel = ref_file.split("common-types/", 1)[1]
            return os.path.join(self.common, rel)
        return os.path.join(os.path.dirname(base_file), ref_file)

    def resolve(self, base_file, ref):
        """Returns (schema, file it lives in) for a $ref seen in base_file."""
        file_part, _, pointer = ref.partition("#")
        target = self.locate(base_file, file_part) if file_part else base_file
        node = self.load(target)
        for token in [t for t in pointer.split("/") if t]:
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[token]
        return node, os.path.normpath(target)


class Validator:
    def __init__(self, specs):
        self.specs = specs
        self.errors = []

    def error(self, where, msg):
        self.errors.append("%s: %s" % (where or "$", msg))

    def check(self, schema, value, where, file, depth=0):
        if depth > 64:
            self.error(where, "schema nesting too deep (recursive $ref?)")
            return
        if "$ref" in schema:
            target, tfile = self.specs.resolve(file, schema["$ref"])
            # Sibling keywords next to $ref (description, readOnly) add no constraints here,
            # except x-nullable.
            if value is None and schema.get("x-nullable"):
                return
            self.check(target, value, where, tfile, depth + 1)
            return
        if value is None:
            if schema.get("x-nullable"):
                return
            if schema.get("type") or schema.get("properties") or schema.get("allOf"):
                self.error(where, "is null but the schema does not allow null")
            return
        for part in schema.get("allOf", []):
            self.check(part, value, where, file, depth + 1)
        t = schema.get("type")
        if t is None and ("properties" in schema or "additionalProperties" in schema):
            t = "object"
        if t == "object":
            if not isinstance(value, dict):
                self.error(where, "expected an object, got %s" % type(value).__name__)
                return
            for name in schema.get("required", []):
                if name not in value:
                    self.error(where, "required property '%s' is missing" % name)
            props = schema.get("properties", {})
            for name, sub in props.items():
                if name in value:
                    self.check(sub, value[name], "%s.%s" % (where, name), file, depth + 1)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                for name, v in value.items():
                    if name not in props:
                        self.check(extra, v, "%s[%r]" % (where, name), file, depth + 1)
        elif t == "array":
            if not isinstance(value, list):
                self.error(where, "expected an array, got %s" % type(value).__name__)
                return
            items = schema.get("items")
            if items:
                for i, v in enumerate(value):
                    self.check(items, v, "%s[%d]" % (where, i), file, depth + 1)
        elif t == "string":
            if not isinstance(value, str):
                self.error(where, "expected a string, got %s" % type(value).__name__)
                return
            fmt = schema.get("format")
            if fmt == "date-time" and not DATE_TIME.match(value):
                self.error(where, "'%s' is not an RFC 3339 date-time" % value)
            elif fmt == "uuid" and not UUID.match(value):
                self.error(where, "'%s' is not a uuid" % value)
            elif fmt == "uri" and not URI.match(value):
                self.error(where, "'%s' is not an absolute uri" % value)
        elif t == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                if not (isinstance(value, float) and value.is_integer()):
                    self.error(where, "expected an integer, got %r" % (value,))
        elif t == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.error(where, "expected a number, got %r" % (value,))
        elif t == "boolean":
            if not isinstance(value, bool):
                self.error(where, "expected a boolean, got %r" % (value,))
        if "enum" in schema and value not in schema["enum"]:
            self.error(where, "%r is not one of %s" % (value, schema["enum"]))


def match_template(template, path):
    t = [s for s in template.split("/") if s]
    p = [s for s in path.split("?", 1)[0].split("/") if s]
    if len(t) != len(p):
        return False
    for a, b in zip(t, p):
        if a.startswith("{") and a.endswith("}"):
            continue
        if a.lower() != b.lower():
            return False
    return True


def find_schema(spec, method, path, status):
    matches = [t for t in spec.get("paths", {}) if match_template(t, path)]
    # Prefer the template with the most literal segments (most specific).
    matches.sort(key=lambda t: -sum(1 for s in t.split("/") if s and not s.startswith("{")))
    for t in matches:
        op = spec["paths"][t].get(method.lower())
        if not op:
            continue
        responses = op.get("responses", {})
        resp = responses.get(str(status)) or responses.get("default")
        if resp is None:
            return t, None, "status %s is not declared for %s %s" % (status, method, t)
        return t, resp.get("schema"), None
    return None, None, "no operation %s matches %s" % (method, path)


def main(argv):
    if len(argv) not in (5, 6):
        sys.stderr.write(__doc__)
        return 2
    spec_file, method, path, status = argv[1:5]
    specs = Specs(spec_file)
    spec = specs.load(specs.root_file)
    template, schema, problem = find_schema(spec, method, path, status)
    if problem:
        print("contract: " + problem)
        return 1
    text = open(argv[5], encoding="utf-8").read() if len(argv) == 6 else sys.stdin.read()
    if schema is None:
        if text.strip():
            print("contract: %s %s %s declares no body, got one" % (method, template, status))
            return 1
        return 0
    try:
        body = json.loads(text)
    except ValueError as e:
        print("contract: the body is not JSON: %s" % e)
        return 1
    v = Validator(specs)
    v.check(schema, body, "$", specs.root_file)
    for e in v.errors:
        print("contract: %s %s %s: %s" % (method, template, status, e))
    return 1 if v.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
