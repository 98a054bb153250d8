"""Following a SageMaker training job's CloudWatch logs, as the SDK's ``logs=True`` does.

SageMaker writes each instance's output to a stream ``<job name>/algo-<n>-<timestamp>`` of
the log group ``/aws/sagemaker/TrainingJobs``; streams appear once the instances start.
Each poll lists the job's streams and reads every stream from where the last poll stopped
(its ``nextForwardToken``), so every line is printed once, in order within its stream.
"""

from __future__ import annotations

from typing import Any

LOG_GROUP = "/aws/sagemaker/TrainingJobs"


class LogFollower:
    """Reads the new lines of a training job's log streams.

    Args:
        client: A boto3 ``logs`` client.
        job_name: The training job.
    """

    def __init__(self, client: Any, job_name: str) -> None:
        self.client = client
        self.job_name = job_name
        self._tokens: dict[str, str] = {}

    def poll(self) -> list[str]:
        """The lines written since the last poll: ``[algo-1] message`` when the job has
        several instances, else the message alone."""
        streams = self._streams()
        lines: list[str] = []
        for stream in streams:
            host = stream.removeprefix(f"{self.job_name}/").split("-")[0:2]
            prefix = f"[{'-'.join(host)}] " if len(streams) > 1 else ""
            lines.extend(prefix + message for message in self._read(stream))
        return lines

    def _streams(self) -> list[str]:
        try:
            response = self.client.describe_log_streams(
                logGroupName=LOG_GROUP, logStreamNamePrefix=f"{self.job_name}/"
            )
        except self.client.exceptions.ResourceNotFoundException:
            return []  # the group exists once the first job of the account has logged
        return sorted(s["logStreamName"] for s in response.get("logStreams", []))

    def _read(self, stream: str) -> list[str]:
        messages: list[str] = []
        while True:
            request: dict[str, Any] = {
                "logGroupName": LOG_GROUP,
                "logStreamName": stream,
                "startFromHead": True,
            }
            if stream in self._tokens:
                request["nextToken"] = self._tokens[stream]
            response = self.client.get_log_events(**request)
            events = response.get("events", [])
            messages.extend(str(e["message"]).rstrip("\n") for e in events)
            token = response.get("nextForwardToken")
            # The same token back means the stream has nothing more for now.
            done = not events or token is None or token == self._tokens.get(stream)
            if token is not None:
                self._tokens[stream] = token
            if done:
                return messages
