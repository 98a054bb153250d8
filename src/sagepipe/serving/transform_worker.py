"""A batch transform worker: ``python -m sagepipe.serving.transform_worker``.

It loads the handler chain, reports ``{"ready": true}`` (or ``{"error": ...}``) and then
answers request frames from stdin on stdout until stdin closes.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

from sagepipe.serving.errors import ServingError
from sagepipe.serving.transform_pool import SETTINGS_ENV, read_frame, split_payload, write_frame


def main() -> int:
    """Serve frames until the parent closes stdin."""
    # The frames own the original stdout; prints of the user's code go to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    stdin = sys.stdin.buffer
    settings = json.loads(os.environ[SETTINGS_ENV])
    try:
        from sagepipe import __version__
        from sagepipe.serving import defaults
        from sagepipe.serving.chain import HandlerChain
        from sagepipe.serving.messages import Invocation

        defaults.configure_threads(settings["threads"])
        properties = {
            "model_dir": settings["model_dir"],
            "gpu_id": defaults.worker_gpu_id(os.getpid()),
            "batch_size": 1,
            "server_name": "sagepipe",
            "server_version": __version__,
            "limit_max_image_pixels": True,
        }
        code_dir = settings["code_dir"]
        chain = HandlerChain.load(
            Path(settings["model_dir"]),
            Path(code_dir) if code_dir else None,
            settings["program"],
            properties,
            settings["default_accept"],
        )
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        # sagepipe's own errors say all there is (what is missing, how to fix it); anything
        # else comes from the user's code, whose traceback is what they need to see.
        if not isinstance(exc, ServingError):
            traceback.print_exc()
        write_frame(out, {"error": f"{type(exc).__name__}: {exc}"}, [])
        return 3
    write_frame(out, {"ready": True}, [])
    while (frame := read_frame(stdin)) is not None:
        header, payload = frame
        bodies = split_payload(payload, header["sizes"])
        invocations = [Invocation(b, header["content_type"], header["accept"]) for b in bodies]
        responses = chain.invoke_batch(invocations)
        write_frame(
            out,
            {"results": [[r.status, len(r.body), r.content_type] for r in responses]},
            [r.body for r in responses],
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
