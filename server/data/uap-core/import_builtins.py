#!/usr/bin/env python3
"""Rebuild uap-core's regexes.yaml from a ua-parser-builtins wheel.

ua-parser-builtins (PyPI, published monthly by the ua-parser maintainers)
is uap-core's regexes.yaml at one commit of its default branch, turned into
Python: `ua_parser_builtins/matchers.py` holds one constructor call per rule,
`REVISION` the uap-core commit. This script reads those calls with `ast`
(nothing in the wheel is executed) and writes them back as regexes.yaml, in
uap-core's order and key names, so the server can vendor a rule set newer
than the last tagged uap-core release.

Usage: import_builtins.py WHEEL OUT_DIR
Writes OUT_DIR/regexes.yaml and prints the uap-core commit.
"""

import ast
import sys
import zipfile

# The positional parameters of each matcher, as ua_parser.loaders maps the
# keys of regexes.yaml onto them.
FIELDS = {
    "UserAgentMatcher": (
        "regex",
        "family_replacement",
        "v1_replacement",
        "v2_replacement",
        "v3_replacement",
        "v4_replacement",
    ),
    "OSMatcher": (
        "regex",
        "os_replacement",
        "os_v1_replacement",
        "os_v2_replacement",
        "os_v3_replacement",
        "os_v4_replacement",
    ),
    "DeviceMatcher": (
        "regex",
        "regex_flag",
        "device_replacement",
        "brand_replacement",
        "model_replacement",
    ),
}
SECTIONS = ("user_agent_parsers", "os_parsers", "device_parsers")
KINDS = ("UserAgentMatcher", "OSMatcher", "DeviceMatcher")


def rules(call, kind):
    """The yaml entry of one matcher constructor call."""
    name = call.func.id if isinstance(call.func, ast.Name) else None
    if name != kind:
        raise SystemExit(f"expected {kind}(...), found {ast.dump(call.func)}")
    fields = FIELDS[kind]
    if len(call.args) > len(fields):
        raise SystemExit(f"{kind} with {len(call.args)} arguments")
    entry = {}
    for field, arg in zip(fields, call.args):
        entry[field] = ast.literal_eval(arg)
    for keyword in call.keywords:
        raise SystemExit(f"unexpected keyword argument {keyword.arg} in {kind}")
    return {k: v for k, v in entry.items() if v is not None}


def quote(value):
    if not isinstance(value, str):
        raise SystemExit(f"unexpected value {value!r}")
    return "'" + value.replace("'", "''") + "'"


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    wheel, out_dir = sys.argv[1], sys.argv[2]
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        revision = (
            archive.read("REVISION").decode().strip() if "REVISION" in names else "unknown"
        )
        source = archive.read("ua_parser_builtins/matchers.py").decode()
    tree = ast.parse(source)
    matchers = None
    for node in tree.body:
        target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
        if isinstance(target, ast.Name) and target.id == "MATCHERS":
            matchers = node.value
    if not isinstance(matchers, ast.Tuple) or len(matchers.elts) != 3:
        raise SystemExit("MATCHERS is not a tuple of three lists")
    lines = [
        "# uap-core regexes.yaml, rebuilt from the ua-parser-builtins wheel",
        f"# {wheel.rsplit('/', 1)[-1]} (uap-core commit {revision})",
        "# by import_builtins.py. Apache-2.0, see LICENSE beside this file.",
        "",
    ]
    counts = []
    for section, kind, listing in zip(SECTIONS, KINDS, matchers.elts):
        if not isinstance(listing, ast.List):
            raise SystemExit(f"{section} is not a list")
        lines.append(f"{section}:")
        for call in listing.elts:
            entry = rules(call, kind)
            keys = list(entry)
            lines.append(f"  - {keys[0]}: {quote(entry[keys[0]])}")
            for key in keys[1:]:
                lines.append(f"    {key}: {quote(entry[key])}")
        lines.append("")
        counts.append(f"{len(listing.elts)} {section}")
    with open(f"{out_dir}/regexes.yaml", "w", encoding="utf-8") as out:
        out.write("\n".join(lines))
    print(f"uap-core {revision}: {', '.join(counts)}")


if __name__ == "__main__":
    main()
