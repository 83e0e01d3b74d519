"""Drives AuthFort's own microservice verifier (authfort-service, from PyPI) against a
running authfort-rs server and prints what it saw as JSON on stdout.

Input (a JSON file named by argv[1]):
  {"jwks_url", "introspect_url", "introspect_secret", "tokens": {"<label>": "<jwt>", ...},
   "introspect": ["<label>", ...]}
Output: {"verify": {"<label>": {"ok": true, "payload": {...}} | {"ok": false, "code", "message"}},
         "introspect": {"<label>": {...IntrospectionResult fields...}}, "jwks_fetches": n}
"""

import asyncio
import dataclasses
import json
import sys

import httpx

from authfort_service import ServiceAuth, TokenVerificationError


async def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)

    # Count JWKS fetches: the verifier refetches at most once per 30 s, so a rotated key
    # must already be in the first fetch (our server publishes the next key ahead).
    fetches = 0
    original_get = httpx.AsyncClient.get

    async def counting_get(self, url, *args, **kwargs):
        nonlocal fetches
        if str(url) == spec["jwks_url"]:
            fetches += 1
        return await original_get(self, url, *args, **kwargs)

    httpx.AsyncClient.get = counting_get

    auth = ServiceAuth(
        jwks_url=spec["jwks_url"],
        introspect_url=spec["introspect_url"],
        introspect_secret=spec["introspect_secret"],
    )
    verify = {}
    for label, token in spec["tokens"].items():
        try:
            payload = await auth.verify_token(token)
            verify[label] = {"ok": True, "payload": dataclasses.asdict(payload)}
        except TokenVerificationError as e:
            verify[label] = {"ok": False, "code": e.code, "message": e.message}
    introspect = {}
    for label in spec["introspect"]:
        result = await auth.introspect(spec["tokens"][label])
        introspect[label] = dataclasses.asdict(result)
    print(json.dumps({"verify": verify, "introspect": introspect, "jwks_fetches": fetches}))


asyncio.run(main())
