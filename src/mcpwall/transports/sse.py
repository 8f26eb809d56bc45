"""Server-Sent Events: an incremental parser and a writer that lose nothing a relay must keep.

MCP's Streamable HTTP carries JSON-RPC messages as SSE ``data`` and uses the other parts of
the format on purpose: event ids for ``Last-Event-ID`` resumption, ``retry`` for polling,
empty "priming" events that carry only an id, and comments as keep-alives. Generic SSE
clients drop some of these (an event without data is never dispatched by browsers), so
mcpwall parses the stream itself: every event, including empty ones and comments, comes
out as an :class:`Event` and can be written back byte-equivalently.

The parser follows the WHATWG rules for line endings (CRLF, LF, CR), the optional single
space after the colon, multi-line ``data``, ids containing NUL being ignored, and a
non-numeric ``retry`` being ignored. A size limit bounds one event's buffered data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ProtocolError

DEFAULT_MAX_EVENT_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class Event:
    """One SSE event or comment block as it appeared on the wire.

    ``data`` is ``None`` when the event had no ``data`` field at all (a priming event with
    only an id, or a retry instruction), and ``b""`` when it had an empty one. ``comments``
    keeps comment lines (without the leading colon) in order.
    """

    data: bytes | None = None
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    comments: list[bytes] = field(default_factory=list)

    @property
    def is_message(self) -> bool:
        """True when the event carries a payload for the application (a JSON-RPC message)."""
        return self.data is not None and self.data.strip() != b"" and self.event in (None, "message")

    def encode(self) -> bytes:
        return encode_event(self.data, event_id=self.id, event=self.event, retry=self.retry,
                            comments=self.comments)


def encode_event(data: bytes | None, *, event_id: str | None = None, event: str | None = None,
                 retry: int | None = None, comments: list[bytes] | None = None) -> bytes:
    """Serialise one event. Data with line breaks becomes several ``data`` lines."""
    parts: list[bytes] = []
    for c in comments or ():
        parts.append(b":" + c + b"\n")
    if event is not None:
        parts.append(b"event: " + _one_line(event.encode("utf-8")) + b"\n")
    if event_id is not None:
        parts.append(b"id: " + _one_line(event_id.encode("utf-8")) + b"\n")
    if retry is not None:
        parts.append(b"retry: " + str(int(retry)).encode("ascii") + b"\n")
    if data is not None:
        if b"\r" in data or b"\n" in data:
            for line in data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
                parts.append(b"data: " + line + b"\n")
        else:
            parts.append(b"data: " + data + b"\n")
    parts.append(b"\n")
    return b"".join(parts)


def comment(text: bytes = b"") -> bytes:
    """A comment block (a keep-alive)."""
    return b":" + _one_line(text) + b"\n\n"


def _one_line(value: bytes) -> bytes:
    return value.replace(b"\r", b" ").replace(b"\n", b" ")


class SSEParser:
    """Feed bytes in any chunking; get complete events out.

    ``feed`` returns the events completed by the chunk. A trailing event without its blank
    line is not dispatched (the SSE rules say an unterminated event is discarded at EOF).
    """

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self._buf = bytearray()
        self._pending_cr = False
        self._data: list[bytes] | None = None
        self._size = 0
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None
        self._comments: list[bytes] = []
        self._touched = False
        self.last_event_id: str | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        out: list[Event] = []
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF split across chunks
        self._pending_cr = False
        buf = self._buf
        buf.extend(chunk)
        start = 0
        n = len(buf)
        while start < n:
            lf = buf.find(b"\n", start)
            cr = buf.find(b"\r", start, lf if lf >= 0 else n)
            if cr >= 0:
                end, nxt = cr, cr + 1
                if nxt < n and buf[nxt] == 0x0A:
                    nxt += 1
                elif nxt == n:
                    self._pending_cr = True
            elif lf >= 0:
                end, nxt = lf, lf + 1
            else:
                break
            ev = self._line(bytes(buf[start:end]))
            if ev is not None:
                out.append(ev)
            start = nxt
        del buf[:start]
        if len(buf) > self.max_event_bytes:
            raise ProtocolError(f"SSE line longer than {self.max_event_bytes} bytes")
        return out

    def _line(self, line: bytes) -> Event | None:
        if not line:
            return self._dispatch()
        self._touched = True
        if line.startswith(b":"):
            self._comments.append(line[1:])
            return None
        name, sep, value = line.partition(b":")
        if sep and value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            if self._data is None:
                self._data = []
            self._size += len(value) + 1
            if self._size > self.max_event_bytes:
                raise ProtocolError(f"SSE event larger than {self.max_event_bytes} bytes")
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\x00" not in value:
                self._id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            self._retry = int(value)
        # Unknown field names are ignored, as the SSE rules require.
        return None

    def _dispatch(self) -> Event | None:
        if not self._touched:
            return None
        ev = Event(
            data=b"\n".join(self._data) if self._data is not None else None,
            event=self._event, id=self._id, retry=self._retry, comments=self._comments,
        )
        if self._id is not None:
            self.last_event_id = self._id
        self._data = None
        self._size = 0
        self._event = None
        self._id = None
        self._retry = None
        self._comments = []
        self._touched = False
        return ev
