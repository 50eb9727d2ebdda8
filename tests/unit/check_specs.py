#!/usr/bin/python3
"""Validate every shipped spec (specs/*.json) against specs/schema.json and
check the rules a schema cannot say: unique names and aliases (ignoring
case), file named after its language, placeholders used as documented, at
least 70 languages, names per envelope unique. Only the standard library: a small validator for the
subset of JSON Schema that schema.json uses (unknown keywords are an error,
so the subset cannot silently grow)."""
import json
import os
import re
import sys

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description"}


class Validator:
    def __init__(self, root):
        self.root = root

    def resolve(self, ref):
        if not ref.startswith("#/"):
            raise ValueError("only local $ref is supported: " + ref)
        node = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def errors(self, schema, value, path="$"):
        out = []
        for key, arg in schema.items():
            if key in ANNOTATIONS:
                continue
            if key == "$ref":
                out += self.errors(self.resolve(arg), value, path)
            elif key == "type":
                if not TYPES[arg](value):
                    out.append(f"{path}: must be of type {arg}")
                    return out
            elif key == "required":
                if isinstance(value, dict):
                    out += [f"{path}: missing required '{k}'" for k in arg if k not in value]
            elif key in ("properties", "patternProperties", "additionalProperties"):
                pass  # handled together below
            elif key == "propertyNames":
                if isinstance(value, dict):
                    for k in value:
                        out += self.errors(arg, k, f"{path} key {k!r}")
            elif key == "items":
                if isinstance(value, list):
                    for i, item in enumerate(value):
                        out += self.errors(arg, item, f"{path}[{i}]")
            elif key == "minItems":
                if isinstance(value, list) and len(value) < arg:
                    out.append(f"{path}: needs at least {arg} items")
            elif key == "uniqueItems":
                if arg and isinstance(value, list):
                    seen = [json.dumps(v, sort_keys=True) for v in value]
                    if len(set(seen)) != len(seen):
                        out.append(f"{path}: items must be unique")
            elif key == "maxItems":
                if isinstance(value, list) and len(value) > arg:
                    out.append(f"{path}: at most {arg} items")
            elif key == "maxLength":
                if isinstance(value, str) and len(value) > arg:
                    out.append(f"{path}: longer than {arg}")
            elif key == "oneOf":
                ok = [s for s in arg if not self.errors(s, value, path)]
                if len(ok) != 1:
                    out.append(f"{path}: must match exactly one of {len(arg)} schemas")
            elif key == "minLength":
                if isinstance(value, str) and len(value) < arg:
                    out.append(f"{path}: shorter than {arg}")
            elif key == "pattern":
                if isinstance(value, str) and not re.search(arg, value):
                    out.append(f"{path}: {value!r} does not match {arg}")
            elif key == "minimum":
                if TYPES["number"](value) and value < arg:
                    out.append(f"{path}: below {arg}")
            elif key == "maximum":
                if TYPES["number"](value) and value > arg:
                    out.append(f"{path}: above {arg}")
            else:
                raise ValueError(f"schema keyword not supported by this checker: {key}")
        if isinstance(value, dict):
            props = schema.get("properties", {})
            pats = schema.get("patternProperties", {})
            addl = schema.get("additionalProperties", True)
            for k, v in value.items():
                matched = False
                if k in props:
                    matched = True
                    out += self.errors(props[k], v, f"{path}.{k}")
                for pat, sub in pats.items():
                    if re.search(pat, k):
                        matched = True
                        out += self.errors(sub, v, f"{path}.{k}")
                if not matched:
                    if addl is False:
                        out.append(f"{path}: unknown field '{k}'")
                    elif isinstance(addl, dict):
                        out += self.errors(addl, v, f"{path}.{k}")
        return out


def rules(name, spec):
    """What the schema cannot express."""
    out = []
    if os.path.splitext(name)[0] != spec.get("name"):
        out.append(f"file name must be {spec.get('name')}.json")
    for field in ("compile", "run"):
        for el in spec.get(field, []):
            for whole in ("{args}", "{sources}"):
                if whole in el and el != whole:
                    out.append(f"{field}: {whole} must be a whole element, not part of {el!r}")
            for ph in re.findall(r"\{[a-z_]+\}", el):
                if ph not in ("{file}", "{main}", "{main_kt}", "{build}", "{args}", "{sources}"):
                    out.append(f"{field}: unknown placeholder {ph} in {el!r}")
    if "{args}" in spec.get("compile", []):
        out.append("compile: {args} belongs to the run stage")
    if "compile" in spec and not any("{build}" in el for el in spec["compile"]):
        out.append("compile: must write into {build}")
    if "compile" in spec and not any("{build}" in el for el in spec["run"]):
        out.append("run: a compiled language must run what is in {build}")
    argv = spec.get("compile", []) + spec.get("run", [])
    stem = os.path.splitext(spec.get("filename", ""))[0]
    # {file}, or the file's module name as the toolchain wants it (haxe --run Main)
    if "{sources}" in spec.get("run", []):
        out.append("run: {sources} belongs to the compile stage")
    if not any(p in " ".join(argv) for p in ("{file}", "{sources}")) and not (stem and stem[0].isupper() and stem in argv):
        out.append("compile/run: {file} is never used")
    if not spec.get("packages"):
        out.append("packages: a shipped spec names the Debian packages that provide it")
    if not spec.get("version_cmd"):
        out.append("version_cmd: a shipped spec says how to find its version")
    if not spec.get("example") or "example_output" not in spec:
        out.append("example and example_output are required")
    elif not spec["example_output"]:
        out.append("example_output: must not be empty for a shipped spec")
    env = spec.get("env", {})
    if "HOME" not in env:
        out.append("env: HOME must be set (the sandbox has no home directory)")
    tmpl = spec.get("inline", {}).get("template", "")
    if "$${IMPORTS}" in tmpl and not spec["inline"].get("import_regex"):
        out.append("inline: $${IMPORTS} in the template needs an import_regex")
    return out


def envelope_names(spec):
    """(envelope, name) for every name in the spec's names table."""
    n = spec.get("names", {})
    out = [("ranna", k) for k in n.get("ranna", [])]
    if "piston" in n:
        out += [("piston", n["piston"]["language"])]
        out += [("piston", a) for a in n["piston"].get("aliases", [])
                if a.lower() != n["piston"]["language"].lower()]
    out += [("judge0", j["id"]) for j in n.get("judge0", [])]
    out += [("jobe", n["jobe"])] if "jobe" in n else []
    out += [("linkis", k) for k in n.get("linkis", [])]
    out += [("zeppelin", k) for k in n.get("zeppelin", [])]
    return out


def self_test(v):
    """The checker must reject what it claims to reject."""
    good = {"name": "x", "display": "X", "language": "x", "filename": "m", "run": ["a"],
            "example": "e", "example_output": "o"}
    assert v.errors(v.root, good) == [], v.errors(v.root, good)
    bad = [
        dict(good, color=1),
        {k: x for k, x in good.items() if k != "run"},
        dict(good, run=[]),
        dict(good, run=["a", 1]),
        dict(good, name="a b"),
        dict(good, filename="../x"),
        dict(good, limits={"pids": -1}),
        dict(good, limits={"pids": 1.5}),
        dict(good, limits={"wall": 1}),
        dict(good, env={"A": 1}),
        dict(good, mounts=[{"src": "rel"}]),
        dict(good, mounts=[{"dst": "/x"}]),
        dict(good, inline={"template": "no code"}),
        dict(good, aliases=["a", "a"]),
        dict(good, mounts=[{"src": "/x", "optional": "yes"}]),
        dict(good, names={"pistn": {"language": "x"}}),
        dict(good, names={"piston": {"aliases": ["x"]}}),
        dict(good, names={"piston": {"language": "x", "runtime": 1}}),
        dict(good, names={"judge0": [{"id": 0, "name": "X"}]}),
        dict(good, names={"judge0": [{"id": 71}]}),
        dict(good, names={"judge0": []}),
        dict(good, names={"ranna": []}),
        dict(good, names={"jobe": "a b"}),
        dict(good, names={"linkis": ["x", "x"]}),
    ]
    for b in bad:
        assert v.errors(v.root, b), f"checker accepted {b}"
    assert v.errors(v.root, dict(good, _note="x", **{"$schema": "./schema.json"})) == []
    full = {"ranna": ["x"], "piston": {"language": "x", "aliases": [], "runtime": None},
            "judge0": [{"id": 71, "name": "X (1)"}], "jobe": "x", "linkis": ["x"], "zeppelin": ["x"]}
    assert v.errors(v.root, dict(good, names=full)) == []


def main():
    specs_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "specs")
    with open(os.path.join(specs_dir, "schema.json")) as f:
        schema = json.load(f)
    v = Validator(schema)
    self_test(v)

    problems = []
    owners = {}
    envelope_owners = {}
    count = 0
    for name in sorted(os.listdir(specs_dir)):
        if not name.endswith(".json") or name == "schema.json":
            continue
        path = os.path.join(specs_dir, name)
        try:
            with open(path) as f:
                spec = json.load(f)
        except (OSError, ValueError) as e:
            problems.append(f"{path}: {e}")
            continue
        count += 1
        errs = v.errors(schema, spec)
        if not errs:
            errs = rules(name, spec)
        problems += [f"{path}: {e}" for e in errs]
        for key in [spec.get("name", "")] + spec.get("aliases", []):
            k = str(key).lower()
            if k in owners and owners[k] != name:
                problems.append(f"{path}: '{key}' already names {owners[k]}")
            owners[k] = name
        for env, key in envelope_names(spec):
            k = (env, str(key).lower())
            if k in envelope_owners and envelope_owners[k] != name:
                problems.append(f"{path}: names.{env} '{key}' already names {envelope_owners[k]}")
            envelope_owners[k] = name
    # ranna keys must not be another spec's name or alias either
    for (env, key), name in envelope_owners.items():
        if env == "ranna" and key in owners and owners[key] != name:
            problems.append(f"{name}: names.ranna '{key}' already names {owners[key]}")
    if count < 70:
        problems.append(f"{specs_dir}: {count} languages, at least 70 expected")
    for p in problems:
        print(p)
    print(f"{count} specs checked, {len(owners)} names and aliases, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
