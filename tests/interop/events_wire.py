"""Checks event argument arrays against the Python side of 21.03.

Reads JSON lines from stdin: {"name": ..., "args": <hex of bai-manager's msgpack>,
"python": <the argument tuple as 21.03's serialize() returns it, in JSON, or null>}.
For each line it prints one JSON line: {"name", "repacked", "packed"}:
- "repacked": the hex of msgpack.packb(msgpack.unpackb(args)) as backend.ai-common packs and
  unpacks (use_bin_type=True; raw=False, use_list=False): a byte-for-byte round trip must give
  the input back;
- "packed": the hex of packb(python tuple) (null without one): what a Python producer sends;
- "common": when backend.ai-common 21.3 imports here, the hex of its event class's
  deserialize(args) serialized and packed again (else null).
"""
import json
import sys

import msgpack


def pack(value):
    return msgpack.packb(value, use_bin_type=True)


def unpack(data):
    return msgpack.unpackb(data, raw=False, use_list=False)


def tuples(value):
    if isinstance(value, list):
        return tuple(tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: tuples(v) for k, v in value.items()}
    return value


def common_classes():
    # aioredis 2.0 (imported by backend.ai-common) subclasses asyncio.TimeoutError and
    # TimeoutError, which are one class since Python 3.11; a distinct stand-in lets it import.
    import asyncio
    import builtins

    class AsyncioTimeoutError(builtins.TimeoutError):
        pass

    original = asyncio.TimeoutError
    asyncio.TimeoutError = AsyncioTimeoutError
    try:
        from ai.backend.common import events
    except Exception:  # noqa: BLE001 (not importable on this Python: skip that check)
        return {}
    finally:
        asyncio.TimeoutError = original
    classes = {}
    pending = [events.AbstractEvent]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        name = getattr(cls, "name", None)
        if isinstance(name, str):
            classes[name] = cls
    return classes


def main():
    classes = common_classes()
    for line in sys.stdin:
        item = json.loads(line)
        args = bytes.fromhex(item["args"])
        out = {"name": item["name"], "repacked": pack(unpack(args)).hex(), "packed": None, "common": None}
        if item.get("python") is not None:
            out["packed"] = pack(tuples(item["python"])).hex()
        cls = classes.get(item["name"])
        if cls is not None:
            out["common"] = pack(cls.deserialize(unpack(args)).serialize()).hex()
        print(json.dumps(out), flush=True)


main()
