"""PipelineDAG: nodes and edges, deterministic order, cycle and unknown-node errors."""

from __future__ import annotations

import graphlib

from sagepipe.errors import (
    CycleError,
    PipelineDefinitionError,
    UnknownNodeError,
    did_you_mean,
)


class PipelineDAG:
    """A directed acyclic graph of step names.

    Nodes keep their insertion order, which breaks ties in :meth:`topological_order`, so the
    same DAG always gives the same order.
    """

    def __init__(
        self, nodes: list[str] | None = None, edges: list[tuple[str, str]] | None = None
    ) -> None:
        self._nodes: list[str] = []
        self._upstream: dict[str, list[str]] = {}
        for node in nodes or []:
            self.add_node(node)
        for src, dst in edges or []:
            self.add_edge(src, dst)

    @property
    def nodes(self) -> list[str]:
        return list(self._nodes)

    @property
    def edges(self) -> list[tuple[str, str]]:
        return [(src, dst) for dst in self._nodes for src in self._upstream[dst]]

    def add_node(self, name: str) -> None:
        """Add a node; adding the same name twice is an error."""
        if not isinstance(name, str) or not name:
            raise PipelineDefinitionError(f"a DAG node needs a non-empty name, got {name!r}")
        if name in self._upstream:
            raise PipelineDefinitionError(f"DAG node {name!r} is added twice")
        self._nodes.append(name)
        self._upstream[name] = []

    def add_edge(self, src: str, dst: str) -> None:
        """Add ``src -> dst``: ``dst`` runs after ``src`` and may use its outputs.

        Both nodes must exist: an edge never creates a node.
        """
        for node in (src, dst):
            self._require(node, f"edge {src!r} -> {dst!r}")
        if src == dst:
            raise CycleError([src, dst])
        if src not in self._upstream[dst]:
            self._upstream[dst].append(src)

    def upstream(self, node: str) -> list[str]:
        """Direct predecessors of ``node``, in the order their edges were added."""
        self._require(node, "upstream()")
        return list(self._upstream[node])

    def downstream(self, node: str) -> list[str]:
        """Direct successors of ``node``, in node order."""
        self._require(node, "downstream()")
        return [dst for dst in self._nodes if node in self._upstream[dst]]

    def topological_order(self) -> list[str]:
        """Every node after all its predecessors; ties broken by insertion order.

        Raises:
            CycleError: listing the nodes of one cycle.
        """
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for node in self._nodes:
            sorter.add(node, *self._upstream[node])
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            # graphlib lists the cycle so that each node is a predecessor of the next one,
            # i.e. in edge direction.
            raise CycleError(list(exc.args[1])) from None
        position = {node: i for i, node in enumerate(self._nodes)}
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=position.__getitem__)
            order.extend(ready)
            sorter.done(*ready)
        return order

    def _require(self, node: str, where: str) -> None:
        if node not in self._upstream:
            raise UnknownNodeError(
                f"{where}: unknown node {node!r}{did_you_mean(node, self._nodes)}; "
                f"add it with add_node() first (nodes: {', '.join(self._nodes) or 'none'})"
            )

    def __repr__(self) -> str:
        return f"PipelineDAG(nodes={self._nodes!r}, edges={self.edges!r})"
