"""What the tests share: requirements, servers, databases, mail, HTTP; each in its own module.

- `tests.support.need`: skip when a part is missing here, fail under CI.
- `tests.support.env`: the environment of a service process (`service_env`).
- `tests.support.databases`: throwaway PostgreSQL and SQLite databases, migrated copies.
- `tests.support.server`: the service under gunicorn on a free port.
- `tests.support.http`: a small HTTP client for launched servers.
- `tests.support.smtp`: a real SMTP server (aiosmtpd), with or without STARTTLS.
- `tests.support.tls`: throwaway certificates.
- `tests.support.admin`: moderator accounts, logging in, CSRF tokens.
- `tests.support.routing`: URL rules compiled once per process, for a faster `create_app()`.
"""
