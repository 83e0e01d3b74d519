"""AuthFort 0.0.31 (the reference) as a FastAPI app for the benchmark.

Configured like our server in the benchmark: bearer mode (no cookie config), rate limiting
off (no RateLimitConfig), passwordless signup on (verify tokens are minted for new
addresses), no Have-I-Been-Pwned lookups (the machine has no outside network; a lookup
would only add its timeout). Everything else is the library's default, including its
argon2id parameters (argon2-cffi defaults: 64 MiB, 3 passes, 4 lanes), which ours share.

Environment: REF_DB (SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://…).
"""

import os

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from authfort import AuthFort


def make_auth() -> AuthFort:
    return AuthFort(
        database_url=os.environ["REF_DB"],
        allow_passwordless_signup=True,
        check_pwned_passwords=False,
        magic_link_ttl=3600,
    )


auth = make_auth()
app = FastAPI()
auth.install_fastapi(app)


@app.get("/health", response_class=PlainTextResponse)
async def health() -> str:
    return "ok"
