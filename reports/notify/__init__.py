"""Reminders (issue 18): per-employer digests of what changed since the last
digest, sent by e-mail (SMTP), WeCom and DingTalk group robots, exactly once
through an outbox ledger in the server database.

- ``config``: the channel configuration file (YAML, ``${ENV}`` values).
- ``items``: what there is to say, read from the warehouse (SQL in ``sql/``).
- ``render``: subject, plain text, HTML, chat markdown, ``.eml`` (Chinese first).
- ``ledger``: SQLAlchemy Core tables on their own MetaData (outbox, items, runs).
- ``channels``: SMTP / WeCom / DingTalk senders with retry and back-off.
- ``service``: plan → send → mark, dry runs, the run status.
"""
