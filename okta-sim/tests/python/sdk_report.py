"""The discovery report computed with Okta's official Python SDK (PyPI `okta`) by the product's documented
rules (README, "What the numbers mean"): the inventory without Okta's own apps and OAuth service clients,
seat-holding assignments, and sign-ins of the four default types, successful, by a user, to an app of the
inventory, one per transaction, user and app. Used by scripts/bench.py to compare cost and numbers with
`dti-operator sync` on the same okta-sim org.

usage: sdk_report.py BASE_URL TOKEN [--days 30]
"""
import argparse
import asyncio
import datetime
import json
import sys

from sdk_client import SEAT_STATUSES, SIGN_IN_TYPES, all_pages, sign_in_key, value
from okta.client import Client as OktaClient

# Okta's own apps, by name (the product's list: README "What the numbers mean").
OKTA_OWN = {"saasure", "okta_enduser", "okta_browser_plugin", "okta_flow_sso", "flow", "okta_iga_reviewer",
            "okta_iga_security_access_reviews", "okta_access_requests_resource_catalog", "okta_atspoke_sso",
            "okta_account_settings", "partner_portal"}


def in_inventory(app):
    oauth = value(value(app, "settings"), "oauth_client")
    return value(app, "name") not in OKTA_OWN and str(value(oauth, "application_type") or "").split(".")[-1].lower() != "service"


def text(v):
    return str(v.value if hasattr(v, "value") else v)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("token")
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    client = OktaClient({"orgUrl": args.base, "token": args.token, "rateLimit": {"maxRetries": 100},
                         "logging": {"enabled": False}})
    now = datetime.datetime.now(datetime.timezone.utc)
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa: E731
    apps, _ = await all_pages(client.list_applications, limit=200)
    apps = [a for a in (getattr(a, "actual_instance", None) or a for a in apps) if in_inventory(a)]
    seats = {}
    for app in apps:
        rows, _ = await all_pages(client.list_application_users, app.id, limit=500)
        seats[app.id] = {r.id for r in rows if text(value(r, "status")).split(".")[-1] in SEAT_STATUSES}
    users, _ = await all_pages(client.list_users, limit=200)
    types = " or ".join(f'eventType eq "{t}"' for t in SIGN_IN_TYPES)
    events, _ = await all_pages(client.list_log_events, limit=1000, since=iso(now - datetime.timedelta(days=args.days)),
                                until=iso(now), filter=f'({types}) and outcome.result eq "SUCCESS"')
    known, keys, per_app, active = {a.id for a in apps}, set(), {}, set()
    for e in events:
        key = sign_in_key(e)
        if not key or key in keys or key[2] not in known:
            continue
        keys.add(key)
        tally = per_app.setdefault(key[2], {"users": set(), "events": 0})
        tally["users"].add(key[1])
        tally["events"] += 1
        active.add(key[1])
    rows = []
    for app in apps:
        t = per_app.get(app.id, {"users": set(), "events": 0})
        rows.append({"id": app.id, "status": text(app.status), "assignedUsers": len(seats[app.id]),
                     "activeUsers": len(t["users"]), "unusedSeats": len(seats[app.id] - t["users"]), "ssoEvents": t["events"]})
    print(json.dumps({"summary": {
        "users": len(users), "activeUsers": len(active), "apps": len(rows),
        "usedApps": sum(1 for r in rows if r["ssoEvents"] > 0),
        "assignedUsers": sum(r["assignedUsers"] for r in rows), "unusedSeats": sum(r["unusedSeats"] for r in rows),
        "ssoEvents": sum(r["ssoEvents"] for r in rows)}, "apps": rows}))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:
        print(f"sdk_report failed: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
