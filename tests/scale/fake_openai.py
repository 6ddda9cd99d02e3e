"""A local OpenAI-compatible chat endpoint for the two-process tests, run as its own process.

The server processes reach it through `OPENAI_BASE_URL`, exactly as they would reach vLLM or
Ollama. Replies stream word by word with a small pause, so turns take long enough to overlap if
the lease failed; a last user message containing `HOLD` streams a few words and then stalls, so
a test can kill the server process in the middle of a turn.

`POST /v1/embeddings` embeds deterministically: a bag of words hashed into `dimensions` slots
(64 unless asked), with a few synonyms folded together so that a test can tell similarity by
meaning from a shared word.

    python tests/scale/fake_openai.py --port 8123
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

WORD_PAUSE = 0.01
HOLD_SECONDS = 120.0
EMBEDDING_DIMENSIONS = 64
# Words that mean the same to the fake embedding model (and to nothing else).
SYNONYMS = {
    "car": "automobile",
    "vehicle": "automobile",
    "physician": "doctor",
    "medic": "doctor",
    "feline": "cat",
    "kitten": "cat",
}


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(part.get("text", "")) for part in content)
            return str(content or "")
    return ""


def reply_words(text: str) -> list[str]:
    heard = len(text.split())
    return [f"{word} " for word in f"I heard {heard} words and answer in twelve words".split()]


def chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> str:
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


async def stream(model: str, words: list[str], hold: bool) -> AsyncIterator[str]:
    yield chunk(model, {"role": "assistant", "content": ""})
    for n, word in enumerate(words):
        if hold and n == 3:
            await asyncio.sleep(HOLD_SECONDS)
        yield chunk(model, {"content": word})
        await asyncio.sleep(WORD_PAUSE)
    yield chunk(model, {}, "stop")
    usage = {"prompt_tokens": 10, "completion_tokens": len(words), "total_tokens": 10 + len(words)}
    final = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time())}
    yield f"data: {json.dumps({**final, 'model': model, 'choices': [], 'usage': usage})}\n\n"
    yield "data: [DONE]\n\n"


async def completions(request: Request) -> Response:
    body = await request.json()
    model = body.get("model", "fake")
    text = last_user_text(body.get("messages", []))
    words = reply_words(text)
    if body.get("stream"):
        events = stream(model, words, hold="HOLD" in text)
        return StreamingResponse(events, media_type="text/event-stream")
    return JSONResponse(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(words).strip()},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 12, "total_tokens": 22},
        }
    )


def embed(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A bag-of-words vector: each word (synonyms folded) adds 1 to the slot its hash picks."""
    vector = [0.0] * dimensions
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        word = SYNONYMS.get(word, word)
        slot = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest()) % dimensions
        vector[slot] += 1.0
    return vector


async def embeddings(request: Request) -> Response:
    body = await request.json()
    texts = body.get("input", [])
    if isinstance(texts, str):
        texts = [texts]
    if not all(isinstance(t, str) for t in texts):
        message = "input must be text (this server reads no token ids)"
        return JSONResponse({"error": {"message": message}}, status_code=400)
    dimensions = int(body.get("dimensions") or EMBEDDING_DIMENSIONS)
    data = [
        {"object": "embedding", "index": n, "embedding": embed(text, dimensions)}
        for n, text in enumerate(texts)
    ]
    tokens = sum(len(text.split()) for text in texts)
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "model": body.get("model", "fake"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[
        Route("/v1/chat/completions", completions, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/health", health),
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
