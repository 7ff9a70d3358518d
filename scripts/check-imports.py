#!/usr/bin/env python3
"""No import cycles in the service's modules (issue 14): neither between the top-level modules
(`crate::store` and `crate::metrics`, …) nor between the sibling modules of one parent
(`store::presence` and `store::rooms`, …).

Reads src/**/*.rs (comments and `#[cfg(test)]` modules left out). An edge goes from a file's
module to every module it names by path (`crate::x`, `super::x`, `crate::parent::x`); the
check fails, naming the cycle, when a graph has one. Run by scripts/test.sh.
"""
import glob
import os
import re
import sys


def module_of(path):
    parts = path[len("src/"):].removesuffix(".rs").split("/")
    if parts[-1] == "mod":
        parts = parts[:-1]
    return parts


def code(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"#\[cfg\(test\)\]\s*mod tests \{.*", "", text, flags=re.S)
    return "\n".join(line.split("//")[0] for line in text.splitlines())


modules = {}
for path in glob.glob("src/**/*.rs", recursive=True):
    parts = module_of(path)
    if parts in (["main"], ["lib"]) or parts[0] == "bin":
        continue
    modules[tuple(parts)] = code(path)

graphs = {}  # parent module -> {child: {children it names}}
for parts in modules:
    graphs.setdefault(parts[:-1], {}).setdefault(parts[-1], set())
for parts, text in modules.items():
    # a file speaks for its module and for each of its ancestors among their siblings:
    # store/calls/join.rs naming `crate::store::rooms` is an edge calls -> rooms under store
    for level in range(len(parts)):
        parent, me = parts[:level], parts[level]
        siblings = {p[-1] for p in modules if p[:-1] == parent and p[-1] != me}
        named = set()
        prefix = "crate::" + "".join(part + "::" for part in parent)
        named |= {m for m in re.findall(r"\b" + re.escape(prefix) + r"([a-z_]+)", text) if m in siblings}
        if level == len(parts) - 1 and parent:
            named |= {m for m in re.findall(r"\bsuper::([a-z_]+)", text) if m in siblings}
        graphs.setdefault(parent, {}).setdefault(me, set()).update(named)


def find_cycle(edges):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


failed = False
for parent, edges in sorted(graphs.items()):
    cycle = find_cycle(edges)
    if cycle:
        where = "::".join(parent) or "crate"
        print(f"import cycle in {where}: " + " -> ".join(cycle), file=sys.stderr)
        failed = True
if failed:
    sys.exit(1)
print(f"no import cycles among {len(modules)} modules ({len(graphs)} parents)")
