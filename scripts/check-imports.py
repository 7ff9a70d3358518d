#!/usr/bin/env python3
"""The service's modules import downwards only, and without cycles (issues 14 and 24).

Layers (a module may import its own layer and the ones below it, never one above):

  3 app     app, config, cli    start-up: settings parsed into `Config`, the parts wired
                                together, the command line
  2 http    http, edge          the API and the listener under it
  1 store   store, streams, ratelimit, fanout, sweeper, webhooks, pages (the page cache, above the store),
            rtc (the RTC tokens)
                                Redis, and what works on it or beside it
  0 domain  domain, metrics, telemetry, shutdown
                                the rooms' own types, and leaves that import no other module

so `domain` <- `store` <- `http` <- `app`: no module below `app` imports `http`, and `config`
imports the components whose setting types it fills in, never the reverse. A new top-level
module must be given a layer here.

Within a layer (and between the sibling modules of one parent: `store::presence` and
`store::rooms`, ...) there must be no import cycle.

Reads src/**/*.rs (comments and `#[cfg(test)]` modules left out: a test may start the whole
app). An edge goes from a file's module to every module it names by path (`crate::x`,
`crate::{x, y}`, `super::x`, `crate::parent::x`); the check fails, naming the import, when it
goes up a layer, and naming the cycle when a graph has one. Run by scripts/test.sh.
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


LAYERS = {
    "domain": 0, "metrics": 0, "telemetry": 0, "shutdown": 0,
    "store": 1, "streams": 1, "ratelimit": 1, "fanout": 1, "sweeper": 1, "webhooks": 1,
    "pages": 1, "rtc": 1,
    "http": 2, "edge": 2,
    "app": 3, "config": 3, "cli": 3,
}
LAYER_NAMES = ["domain", "store", "http", "app"]


def names_after(text, prefix):
    """The names right after `prefix`: `crate::x`, and each of `crate::{x, y::z}`."""
    names = set(re.findall(r"\b" + re.escape(prefix) + r"([a-z_]+)", text))
    for m in re.finditer(r"\b" + re.escape(prefix) + r"\{", text):
        depth, item, items = 1, "", []
        for c in text[m.end():]:
            depth += {"{": 1, "}": -1}.get(c, 0)
            if depth == 0 or (depth == 1 and c == ","):
                items.append(item)
                item = ""
                if depth == 0:
                    break
            else:
                item += c
        names |= {first.group(1) for first in map(lambda i: re.match(r"\s*([a-z_]+)", i), items) if first}
    return names


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
        named |= {m for m in names_after(text, prefix) if m in siblings}
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
for me in sorted(graphs.get((), {})):
    if me not in LAYERS:
        print(f"crate::{me} has no layer: add it to LAYERS in scripts/check-imports.py", file=sys.stderr)
        failed = True
for me, imports in sorted(graphs.get((), {}).items()):
    for other in sorted(imports):
        if me in LAYERS and other in LAYERS and LAYERS[other] > LAYERS[me]:
            print(
                f"crate::{me} (layer {LAYER_NAMES[LAYERS[me]]}) imports crate::{other}, "
                f"a higher layer ({LAYER_NAMES[LAYERS[other]]})",
                file=sys.stderr,
            )
            failed = True
for parent, edges in sorted(graphs.items()):
    cycle = find_cycle(edges)
    if cycle:
        where = "::".join(parent) or "crate"
        print(f"import cycle in {where}: " + " -> ".join(cycle), file=sys.stderr)
        failed = True
if failed:
    sys.exit(1)
print(f"no import cycles among {len(modules)} modules ({len(graphs)} parents), "
      f"no import up a layer")
