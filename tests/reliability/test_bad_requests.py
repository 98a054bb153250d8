"""Every kind of malformed or hostile request in the corpus, sent as raw bytes to a real
``sagepipe serve`` on loopback, is answered with its expected 4xx/5xx status and a reason,
after the answers of the valid requests pipelined before it; the server keeps answering
``/ping`` and logs no traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from tests.serving.support import write_linear

from .bad_requests import CORPUS, SERVER_ENV, BadRequest, send
from .server_process import ServerProcess, serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    model = write_linear(tmp_path_factory.mktemp("corpus") / "model")
    with serve(model, env=SERVER_ENV) as running:
        running.wait_healthy()
        yield running
        assert "Traceback" not in running.log


def test_the_corpus_has_at_least_60_distinct_kinds() -> None:
    assert len({case.kind for case in CORPUS}) == len(CORPUS) >= 60


@pytest.mark.parametrize("case", CORPUS, ids=[case.kind for case in CORPUS])
def test_a_bad_request_is_answered_with_a_reason(server: ServerProcess, case: BadRequest) -> None:
    answer = send(case, server.port)

    assert answer.statuses[: len(case.before)] == list(case.before)
    assert len(answer.statuses) == len(case.before) + 1, answer
    assert answer.statuses[-1] in case.expected, answer.reason
    error = json.loads(answer.bodies[-1])
    assert error["code"] == answer.statuses[-1]
    assert len(error["message"]) > 10
    assert "Traceback" not in error["message"]
    if case.closes:
        assert answer.closed, "the connection stayed open after a protocol error"
    assert server.ping() == 200
    assert "Traceback" not in server.log
