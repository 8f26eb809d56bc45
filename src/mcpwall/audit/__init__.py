"""The audit log: every verdict of every frame, in a tamper-evident HMAC chain.

``AuditRecord`` is what the relay records; ``SqliteAudit`` (the default sink) writes records
in groups through a writer process and commits a record at once when the relay must not forward
a blocked or changed frame before it is stored.
"""

from .record import AuditRecord

__all__ = ["AuditRecord"]
