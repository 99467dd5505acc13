"""The discovery report computed the way a user would with Okta's official Python SDK (PyPI `okta`):
list apps, each app's users, users, and the System Log's SSO sign-ins, then aggregate. Used by
scripts/bench.py to compare with `dti-operator sync` on the same okta-sim org.

usage: sdk_report.py BASE_URL TOKEN --days 30
"""
import argparse
import asyncio
import datetime
import json
import os
import sys

os.environ.setdefault("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")  # okta-sim speaks http

from okta.client import Client as OktaClient  # noqa: E402
from okta.pagination import PaginationHelper  # noqa: E402


async def all_pages(method, *args, stop_on_empty=False, **kwargs):
    result, after = [], None
    while True:
        items, resp, err = await method(*args, after=after, **kwargs)
        if err:
            raise RuntimeError(str(err))
        items = items or []
        result.extend(items)
        after = PaginationHelper.extract_next_cursor(resp.headers)
        if not after or (stop_on_empty and not items):
            return result


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("token")
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    client = OktaClient({"orgUrl": args.base, "token": args.token, "rateLimit": {"maxRetries": 100}})
    now = datetime.datetime.now(datetime.timezone.utc)
    since = (now - datetime.timedelta(days=args.days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    apps = [getattr(a, "actual_instance", None) or a for a in await all_pages(client.list_applications, limit=200)]
    assigned = {}
    for app in apps:
        assigned[app.id] = len(await all_pages(client.list_application_users, app.id, limit=500))
    users = await all_pages(client.list_users, limit=200)
    events = await all_pages(client.list_log_events, stop_on_empty=True, since=since, limit=1000,
                             filter='eventType eq "user.authentication.sso"')
    per_app = {}
    active = set()
    for e in events:
        if e.outcome is None or e.outcome.result != "SUCCESS":
            continue
        target = next((t for t in (e.target or []) if t.type == "AppInstance"), None)
        if target is None or e.actor is None:
            continue
        tally = per_app.setdefault(target.id, {"users": set(), "events": 0, "last": None})
        tally["users"].add(e.actor.id)
        tally["events"] += 1
        tally["last"] = max(tally["last"] or e.published, e.published)
        active.add(e.actor.id)

    def status(app):
        return str(app.status.value if hasattr(app.status, "value") else app.status)

    rows = []
    for app in apps:
        t = per_app.get(app.id, {"users": set(), "events": 0, "last": None})
        rows.append({
            "id": app.id, "name": app.name, "label": app.label, "status": status(app),
            "signOnMode": str(app.sign_on_mode.value if hasattr(app.sign_on_mode, "value") else app.sign_on_mode),
            "assignedUsers": assigned[app.id], "activeUsers": len(t["users"]), "ssoEvents": t["events"],
            "lastUsed": t["last"].isoformat() if t["last"] else None,
        })
    rows.sort(key=lambda r: (-r["activeUsers"], r["label"], r["id"]))
    print(json.dumps({
        "domain": args.base, "generatedAt": now.isoformat(), "usageWindow": f"{args.days}d",
        "summary": {
            "users": len(users), "activeUsers": len(active), "apps": len(apps),
            "activeApps": sum(1 for r in rows if r["status"] == "ACTIVE"),
            "usedApps": sum(1 for r in rows if r["ssoEvents"] > 0),
            "unusedApps": sum(1 for r in rows if r["status"] == "ACTIVE" and r["ssoEvents"] == 0),
            "ssoEvents": sum(r["ssoEvents"] for r in rows),
        },
        "apps": rows,
    }))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:
        print(f"sdk_report failed: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
