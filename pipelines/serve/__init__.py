"""`permits serve`: the published site behind a login (issue 17).

Modules: ``db`` (the server's tables on its own MetaData), ``accounts``
(users, Argon2, activation codes, lockout, sessions), ``sitefs`` (which path a
role may see and how it is opened inside the live site), ``audit`` (the
write-behind audit log), ``app`` (the Starlette application), ``pages`` (the
login / activation / password pages), ``cli`` (the typer commands) and
``bench`` (the bounded load benchmark). Design notes: docs/serve.md.
"""
