"""Parses Swift sources with tree-sitter's Swift grammar and reports every syntax error.

    parse_swift.py FILE...

Prints one line per file ("FILE: N bytes, 0 syntax errors") and, for each error, its line and
text; exits 1 if any file has one. The grammar does not know `@_documentation(visibility: ...)`,
an underscored attribute of the Swift compiler that UniFFI puts on its private helpers; those
attributes are blanked out (same length, so positions stay right) before parsing, and nothing
else is.
"""

import re
import sys

import tree_sitter_swift
from tree_sitter import Language, Parser

UNKNOWN_TO_GRAMMAR = re.compile(rb"@_documentation\([^)]*\)")


def syntax_errors(tree):
    found, pending = [], [tree.root_node]
    while pending:
        node = pending.pop()
        if node.type == "ERROR" or node.is_missing:
            found.append(node)
        else:
            pending.extend(node.children)
    return sorted(found, key=lambda node: node.start_byte)


def main(paths):
    parser = Parser(Language(tree_sitter_swift.language()))
    failed = False
    for path in paths:
        with open(path, "rb") as source:
            text = source.read()
        blanked = UNKNOWN_TO_GRAMMAR.sub(lambda m: b" " * len(m.group(0)), text)
        errors = syntax_errors(parser.parse(blanked))
        print(f"{path}: {len(text)} bytes, {len(errors)} syntax errors")
        lines = text.splitlines()
        for node in errors[:20]:
            row = node.start_point[0]
            print(f"  line {row + 1}: {lines[row].decode(errors='replace').strip()[:120]}")
        failed = failed or bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
