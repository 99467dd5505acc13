"""Okta's official Python SDK (PyPI `okta`) as a client of okta-sim.

Pages through users, apps, every app's users and the System Log the way the SDK does, and prints the counts
as one JSON document. With --inject-429 it first arms a one-shot 429 on the users list through okta-sim's
control endpoint, to show the SDK recovers from it.

usage: sdk_client.py BASE_URL TOKEN [--since ISO] [--inject-429]
"""
import argparse
import asyncio
import json
import os
import sys
import urllib.request

# The SDK's testing flag (read from the environment) lets it talk to okta-sim over http.
os.environ.setdefault("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")

from okta.client import Client as OktaClient  # noqa: E402
from okta.pagination import PaginationHelper  # noqa: E402


async def all_pages(method, *args, stop_on_empty=False, **kwargs):
    """Follows the next links the SDK's documented way: the `after` cursor of each Link rel="next"."""
    result, pages, after = [], 0, None
    while True:
        items, resp, err = await method(*args, after=after, **kwargs)
        if err:
            raise RuntimeError(f"SDK error on page {pages + 1}: {err}")
        pages += 1
        items = items or []
        result.extend(items)
        after = PaginationHelper.extract_next_cursor(resp.headers)
        # A polling System Log query always has a next link: stop at the first empty page, as Okta advises.
        if not after or (stop_on_empty and not items):
            return result, pages


def control(base, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="PUT",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        r.read()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("token")
    ap.add_argument("--since")
    ap.add_argument("--inject-429", action="store_true")
    args = ap.parse_args()
    if args.inject_429:
        control(args.base, "/__sim/faults", ["429:nth=2,path=/api/v1/users,ms=1000"])
    client = OktaClient({
        "orgUrl": args.base,
        "token": args.token,
        "rateLimit": {"maxRetries": 3},
        "logging": {"enabled": False},
    })
    users, user_pages = await all_pages(client.list_users, limit=200)
    apps, app_pages = await all_pages(client.list_applications, limit=200)
    assigned = {}
    for app in apps:
        app = getattr(app, "actual_instance", None) or app
        rows, _ = await all_pages(client.list_application_users, app.id, limit=500)
        assigned[app.id] = len(rows)
    log_kwargs = {"limit": 1000, "filter": 'eventType eq "user.authentication.sso"'}
    if args.since:
        log_kwargs["since"] = args.since
    sso, log_pages = await all_pages(client.list_log_events, stop_on_empty=True, **log_kwargs)
    print(json.dumps({
        "users": len(users), "userPages": user_pages,
        "apps": len(apps), "appPages": app_pages,
        "assigned": assigned,
        "ssoEvents": len(sso),
        "ssoSuccess": sum(1 for e in sso if e.outcome and e.outcome.result == "SUCCESS"),
        "logPages": log_pages,
    }))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # the Rust test shows this output on failure
        print(f"sdk_client failed: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
