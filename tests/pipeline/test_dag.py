"""PipelineDAG: order, neighbours, cycles listed, unknown nodes never created."""

from __future__ import annotations

import itertools

import pytest

from sagepipe.errors import CycleError, PipelineDefinitionError, UnknownNodeError
from sagepipe.pipeline import PipelineDAG


def seed_dag() -> PipelineDAG:
    dag = PipelineDAG()
    for node in ("data_load", "preprocess", "train", "model", "transform"):
        dag.add_node(node)
    dag.add_edge("data_load", "preprocess")
    dag.add_edge("preprocess", "train")
    dag.add_edge("train", "model")
    dag.add_edge("model", "transform")
    return dag


def test_seed_dag_order_and_neighbours() -> None:
    dag = seed_dag()
    assert dag.topological_order() == ["data_load", "preprocess", "train", "model", "transform"]
    assert dag.upstream("train") == ["preprocess"]
    assert dag.downstream("train") == ["model"]
    assert dag.upstream("data_load") == []
    assert dag.downstream("transform") == []
    assert dag.edges == [
        ("data_load", "preprocess"),
        ("preprocess", "train"),
        ("train", "model"),
        ("model", "transform"),
    ]


def test_ties_are_broken_by_insertion_order() -> None:
    dag = PipelineDAG(nodes=["z", "b", "a", "end"], edges=[("a", "end"), ("z", "end")])
    assert dag.topological_order() == ["z", "b", "a", "end"]
    dag = PipelineDAG(nodes=["a", "b", "z", "end"], edges=[("z", "end"), ("a", "end")])
    assert dag.topological_order() == ["a", "b", "z", "end"]
    assert dag.upstream("end") == ["z", "a"]


def test_order_respects_edges_against_insertion_order() -> None:
    dag = PipelineDAG(nodes=["c", "b", "a"], edges=[("a", "b"), ("b", "c")])
    assert dag.topological_order() == ["a", "b", "c"]


def test_repeated_edge_is_kept_once() -> None:
    dag = PipelineDAG(nodes=["a", "b"], edges=[("a", "b"), ("a", "b")])
    assert dag.edges == [("a", "b")]


def test_cycle_error_lists_the_cycle() -> None:
    dag = PipelineDAG(nodes=["a", "b", "c", "d"], edges=[("a", "b"), ("b", "c"), ("c", "a")])
    dag.add_edge("c", "d")
    with pytest.raises(CycleError) as caught:
        dag.topological_order()
    cycle = caught.value.cycle
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"a", "b", "c"}
    assert len(cycle) == 4
    # Each consecutive pair of the listed cycle is an edge of the DAG.
    assert all(pair in dag.edges for pair in itertools.pairwise(cycle))
    assert " -> ".join(cycle) in str(caught.value)
    assert "remove one of these edges" in str(caught.value)


def test_self_edge_is_a_cycle() -> None:
    dag = PipelineDAG(nodes=["a"])
    with pytest.raises(CycleError, match="a -> a"):
        dag.add_edge("a", "a")


@pytest.mark.parametrize(
    ("src", "dst", "unknown"), [("trian", "model", "trian"), ("train", "modle", "modle")]
)
def test_edge_to_unknown_node_is_an_error_and_creates_no_node(
    src: str, dst: str, unknown: str
) -> None:
    dag = PipelineDAG(nodes=["train", "model"])
    with pytest.raises(UnknownNodeError) as caught:
        dag.add_edge(src, dst)
    message = str(caught.value)
    assert f"unknown node {unknown!r}" in message
    assert "did you mean" in message
    assert "nodes: train, model" in message
    assert dag.nodes == ["train", "model"]
    assert dag.edges == []


def test_unknown_node_in_lookups() -> None:
    dag = PipelineDAG(nodes=["train"])
    with pytest.raises(
        UnknownNodeError, match="upstream\\(\\): unknown node 'tran' \\(did you mean 'train'\\?\\)"
    ):
        dag.upstream("tran")
    with pytest.raises(UnknownNodeError, match="downstream"):
        dag.downstream("x")


def test_node_rules() -> None:
    dag = PipelineDAG(nodes=["a"])
    with pytest.raises(PipelineDefinitionError, match="added twice"):
        dag.add_node("a")
    with pytest.raises(PipelineDefinitionError, match="non-empty name"):
        dag.add_node("")
