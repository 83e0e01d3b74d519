"""Mints what the benchmark needs through the reference's library API, before a run.

  python mint.py migrate                      create the schema
  python mint.py tokens EMAILS_FILE OUT_FILE  one magic-link token per address (new ones:
                                               passwordless signup creates the account)
  python mint.py signup EMAIL PASSWORD        a password user for the login flow
"""

import asyncio
import sys

from app import make_auth


async def tokens(auth, emails_file: str, out_file: str) -> None:
    emails = [line.strip() for line in open(emails_file) if line.strip()]
    sem = asyncio.Semaphore(8)

    async def one(email: str) -> str:
        async with sem:
            token = await auth.create_magic_link_token(email)
            if token is None:
                raise SystemExit(f"no token for {email}")
            return token

    minted = await asyncio.gather(*(one(e) for e in emails))
    with open(out_file, "w") as out:
        out.write("\n".join(minted) + "\n")


async def main() -> None:
    auth = make_auth()
    cmd = sys.argv[1]
    if cmd == "migrate":
        await auth.migrate()
    elif cmd == "tokens":
        await tokens(auth, sys.argv[2], sys.argv[3])
    elif cmd == "signup":
        await auth.create_user(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(f"unknown command {cmd}")
    await auth.dispose()


asyncio.run(main())
