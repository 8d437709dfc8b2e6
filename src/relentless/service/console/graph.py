"""A definition's graph laid out for SVG on the server: layers by distance from the
start, left to right, so that the page needs no layout library in the browser.

Forward edges are straight; an edge back to an earlier (or the same) layer, a retry
loop say, arcs below the nodes, so that cycles stay readable.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from relentless.core.definition import RESERVED_LABELS, Definition

NODE_WIDTH = 150
NODE_HEIGHT = 44
LAYER_GAP = 90
ROW_GAP = 36
MARGIN = 24


@dataclass(frozen=True, slots=True)
class PlacedNode:
    name: str
    caption: str
    x: int
    y: int
    leaf: bool
    manual: bool
    current: bool
    start: bool


@dataclass(frozen=True, slots=True)
class PlacedEdge:
    source: str
    label: str
    target: str
    path: str
    """The SVG path's ``d``."""
    label_x: int
    label_y: int
    taken: int
    reserved: bool


@dataclass(frozen=True, slots=True)
class Layout:
    nodes: list[PlacedNode]
    edges: list[PlacedEdge]
    width: int
    height: int


def layers_of(definition: Definition) -> dict[str, int]:
    """Each node's layer: its distance from the start (unreachable ones go last)."""
    layer = {definition.start: 0}
    queue = deque([definition.start])
    while queue:
        name = queue.popleft()
        for target in definition.nodes[name].on.values():
            if target not in layer:
                layer[target] = layer[name] + 1
                queue.append(target)
    last = max(layer.values()) + 1
    return {name: layer.get(name, last) for name in definition.nodes}


def lay_out(definition: Definition, current: str | None = None,
            taken: Mapping[tuple[str, str], int] | None = None) -> Layout:
    """Positions of every node and the path of every edge; ``taken`` counts how often
    each (source, label) edge was traversed."""
    layer = layers_of(definition)
    rows: dict[int, int] = {}
    places: dict[str, tuple[int, int]] = {}
    for name in definition.nodes:  # the definition's order within a layer
        row = rows.get(layer[name], 0)
        rows[layer[name]] = row + 1
        places[name] = (MARGIN + layer[name] * (NODE_WIDTH + LAYER_GAP),
                        MARGIN + row * (NODE_HEIGHT + ROW_GAP))
    height = MARGIN * 2 + max(rows.values()) * (NODE_HEIGHT + ROW_GAP) + 40
    nodes = [PlacedNode(name, node.operation or "", x, y, node.is_leaf, node.manual,
                        name == current, name == definition.start)
             for name, node in definition.nodes.items() for x, y in [places[name]]]
    edges = []
    for name, node in definition.nodes.items():
        for index, (label, target) in enumerate(node.on.items()):
            edges.append(_edge(name, label, target, places, layer, index, height,
                               (taken or {}).get((name, label), 0)))
    width = MARGIN * 2 + (max(layer.values()) + 1) * (NODE_WIDTH + LAYER_GAP)
    return Layout(nodes, edges, width, height)


def _edge(source: str, label: str, target: str, places: Mapping[str, tuple[int, int]],
          layer: Mapping[str, int], index: int, height: int, taken: int) -> PlacedEdge:
    sx, sy = places[source]
    tx, ty = places[target]
    reserved = label in RESERVED_LABELS
    if layer[target] > layer[source]:
        x1, y1 = sx + NODE_WIDTH, sy + NODE_HEIGHT // 2
        x2, y2 = tx, ty + NODE_HEIGHT // 2
        path = f"M{x1},{y1} L{x2},{y2}"
        return PlacedEdge(source, label, target, path, (x1 + x2) // 2,
                          (y1 + y2) // 2 - 4 - 12 * (index % 2), taken, reserved)
    # back (or same-layer) edge: leave from the bottom, arc below, enter from the bottom
    x1, y1 = sx + NODE_WIDTH // 2 + 10 * index, sy + NODE_HEIGHT
    x2, y2 = tx + NODE_WIDTH // 2 - 10 * index, ty + NODE_HEIGHT
    dip = min(max(y1, y2) + 40 + 14 * index, height - 12)
    path = f"M{x1},{y1} C{x1},{dip} {x2},{dip} {x2},{y2}"
    return PlacedEdge(source, label, target, path, (x1 + x2) // 2, dip - 6, taken, reserved)
