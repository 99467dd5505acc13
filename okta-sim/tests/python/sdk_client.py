"""Okta's official Python SDK (PyPI `okta`) as a client of okta-sim.

Signs in with an API token (SSWS) or, with --client-id and --private-key, the way Okta recommends for service
apps: OAuth 2.0 client credentials with a private_key_jwt assertion and DPoP-bound tokens (the SDK's
PrivateKey mode with dpopEnabled). Pages through users, apps, every app's users and the System Log the way
the SDK does, and prints per-app numbers as one JSON document, computed here independently of the operator:
seat-holding assignments, and sign-ins (the four default sign-in event types, successful, by a user, to an
app instance, one per transaction, user and app) between --since and --until.

usage: sdk_client.py BASE_URL (--token TOKEN | --client-id ID --private-key FILE [--scope S ...])
                     --since ISO --until ISO [--inject-429]
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

SIGN_IN_TYPES = ["user.authentication.sso", "user.authentication.auth_via_radius", "app.oauth2.signon",
                 "user.authentication.auth_via_richclient"]
# Okta's app-user statuses that hold a seat (the assignment is live or being provisioned).
SEAT_STATUSES = {"ACTIVE", "PROVISIONED", "PENDING", "STAGED", "APPROVED", "IMPLICIT"}


async def all_pages(method, *args, **kwargs):
    """Follows the next links the SDK's documented way: the `after` cursor of each Link rel="next"."""
    result, pages, after = [], 0, None
    while True:
        items, resp, err = await method(*args, after=after, **kwargs)
        if err:
            raise RuntimeError(f"SDK error on page {pages + 1}: {err}")
        pages += 1
        result.extend(items or [])
        after = PaginationHelper.extract_next_cursor(resp.headers)
        if not after:
            return result, pages


def control(base, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="PUT",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        r.read()


def client_config(args):
    config = {"orgUrl": args.base, "rateLimit": {"maxRetries": 3}, "logging": {"enabled": False}}
    if args.token:
        config["token"] = args.token
    else:
        with open(args.private_key) as f:
            key = f.read()
        config.update({"authorizationMode": "PrivateKey", "clientId": args.client_id, "scopes": args.scope,
                       "privateKey": key, "dpopEnabled": True})
    return config


def value(obj, name):
    return getattr(obj, name, None) if obj is not None else None


def sign_in_key(event):
    """(transaction, user, app) of a counted sign-in, or None."""
    actor = event.actor
    if value(actor, "type") != "User" or value(event.outcome, "result") != "SUCCESS":
        return None
    apps = [t.id for t in (event.target or []) if t.type == "AppInstance"]
    if not apps:
        return None
    tx = value(event.transaction, "id") or event.uuid
    return (tx, actor.id, apps[0])


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--token")
    ap.add_argument("--client-id")
    ap.add_argument("--private-key")
    ap.add_argument("--scope", action="append", default=[])
    ap.add_argument("--since", required=True)
    ap.add_argument("--until", required=True)
    ap.add_argument("--inject-429", action="store_true")
    args = ap.parse_args()
    if args.inject_429:
        control(args.base, "/__sim/faults", ["429:nth=2,path=/api/v1/users,ms=1000"])
    client = OktaClient(client_config(args))
    users, user_pages = await all_pages(client.list_users, limit=200)
    apps, app_pages = await all_pages(client.list_applications, limit=200)
    seats = {}
    for app in apps:
        app = getattr(app, "actual_instance", None) or app
        rows, _ = await all_pages(client.list_application_users, app.id, limit=500)
        seats[app.id] = sum(1 for r in rows if str(value(r, "status") or "").split(".")[-1] in SEAT_STATUSES)
    types = " or ".join(f'eventType eq "{t}"' for t in SIGN_IN_TYPES)
    events, log_pages = await all_pages(client.list_log_events, limit=1000, since=args.since, until=args.until,
                                        filter=f'({types}) and outcome.result eq "SUCCESS"')
    sign_ins, keys = {}, set()
    for e in events:
        key = sign_in_key(e)
        if key and key not in keys:
            keys.add(key)
            sign_ins[key[2]] = sign_ins.get(key[2], 0) + 1
    print(json.dumps({
        "users": len(users), "userPages": user_pages, "apps": len(apps), "appPages": app_pages,
        "seats": seats, "signIns": sign_ins, "events": len(events), "logPages": log_pages,
    }))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # the Rust test shows this output on failure
        print(f"sdk_client failed: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
