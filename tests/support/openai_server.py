"""A small local OpenAI-compatible server that plays a script, for testing the real client.

`POST /v1/chat/completions` answers each request with the next scripted reply: streamed as
server-sent events (text in small pieces, tool-call deltas with their arguments split across
chunks, usage in a final chunk when `stream_options.include_usage` is set, cached prompt
tokens included when scripted) or as one JSON
completion when `stream` is false. Every request body is kept in `requests`.

    with OpenAIServer([ScriptedCompletion("Hello!")]) as server:
        settings = Settings(openai_base_url=server.base_url, openai_api_key="test")
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class ScriptedCompletion:
    """One reply: text and/or tool calls as `(name, arguments)` pairs; token counts."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    prompt_tokens: int = 11
    completion_tokens: int = 7
    piece: int = 4
    # Prompt tokens served from the provider's cache (reported as `prompt_tokens_details`).
    cached_tokens: int = 0


class OpenAIServer:
    """Runs the app with uvicorn on a free loopback port in a background thread."""

    def __init__(self, script: list[ScriptedCompletion]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self._calls = 0
        self._lock = threading.Lock()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        app = Starlette(routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])])
        config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        pause = threading.Event()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the OpenAI-compatible test server failed to start")
            pause.wait(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    async def _complete(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self.requests.append(body)
            index = self._calls
            self._calls += 1
        if index >= len(self.script):
            return JSONResponse(
                {"error": {"message": f"no scripted reply for request #{index + 1}"}},
                status_code=500,
            )
        reply = self.script[index]
        completion_id = f"chatcmpl-{index + 1}"
        if not body.get("stream"):
            return JSONResponse(_completion(completion_id, body.get("model", ""), reply, index))
        usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return StreamingResponse(
            _sse(completion_id, body.get("model", ""), reply, index, usage),
            media_type="text/event-stream",
        )


def _call_id(index: int, position: int) -> str:
    return f"call_{index + 1}_{position}"


def _usage(reply: ScriptedCompletion) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }
    if reply.cached_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": reply.cached_tokens}
    return usage


def _completion(
    completion_id: str, model: str, reply: ScriptedCompletion, index: int
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": _call_id(index, n),
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for n, (name, args) in enumerate(reply.tool_calls)
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": _usage(reply),
    }


async def _sse(
    completion_id: str, model: str, reply: ScriptedCompletion, index: int, usage: bool
) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(payload)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    text = reply.text
    for start in range(0, len(text), reply.piece):
        yield chunk({"content": text[start : start + reply.piece]})
    for n, (name, args) in enumerate(reply.tool_calls):
        head = {"index": n, "id": _call_id(index, n), "type": "function"}
        yield chunk({"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]})
        arguments = json.dumps(args)
        middle = len(arguments) // 2
        for part in (arguments[:middle], arguments[middle:]):
            yield chunk({"tool_calls": [{"index": n, "function": {"arguments": part}}]})
    yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
    if usage:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [],
            "usage": _usage(reply),
        }
        yield f"data: {json.dumps(payload)}\n\n"
    yield "data: [DONE]\n\n"
