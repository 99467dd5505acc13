#!/usr/bin/env python3
"""The chart's values reference as a Markdown table, generated from charts/dti-operator/values.yaml: every
leaf value with its default and the `# --` comment above it (helm-docs' convention). README.md holds the
output; a test fails when they differ. usage: scripts/values-reference.py"""
import json
import pathlib
import re

import yaml  # PyYAML, from the tests' venv (scripts/python-env.sh)

VALUES = pathlib.Path(__file__).resolve().parent.parent / "charts/dti-operator/values.yaml"


def descriptions(lines):
    """Dotted key -> the `# --` comment block right above it."""
    found, stack, pending = {}, [], []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending = [stripped[4:].strip()]
        elif stripped.startswith("#") and pending:
            pending.append(stripped[1:].strip())
        elif re.match(r"^\s*[A-Za-z][\w-]*:", line):
            indent = len(line) - len(line.lstrip())
            key = stripped.split(":", 1)[0]
            stack = [(i, k) for i, k in stack if i < indent] + [(indent, key)]
            if pending:
                found[".".join(k for _, k in stack)] = " ".join(pending)
            pending = []
        elif not stripped:
            pending = []
    return found


def leaves(value, prefix=""):
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, f"{prefix}{key}.")
    else:
        yield prefix.rstrip("."), value


def main():
    text = VALUES.read_text()
    notes = descriptions(text.splitlines())
    print("| value | default | what it does |")
    print("|---|---|---|")
    for key, default in leaves(yaml.safe_load(text)):
        note = notes.get(key) or next((notes[p] for p in sorted(notes, key=len, reverse=True) if key.startswith(p + ".")), "")
        shown = json.dumps(default, separators=(", ", ": ")).replace("|", "\\|")
        print(f"| `{key}` | `{shown}` | {note.replace('|', chr(92) + '|')} |")


if __name__ == "__main__":
    main()
