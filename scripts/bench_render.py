"""Renders bench.py's results as BENCHMARKS.md's tables: no measuring here, only formatting."""
import datetime
import os
import platform
import time


def fmt(x, digits=2):
    return f"{x:.{digits}f}"


def render(r, args, argv, started):
    """The tables for results `r` (raws, thr, steadies, histories, operators) of a run with `args`."""
    raws, thr, steadies, histories, operators = r["raws"], r["thr"], r["steadies"], r["histories"], r["operators"]
    lines = []
    w = lines.append
    w(f"Run `scripts/bench.sh {' '.join(argv)}` on {datetime.date.today()}: "
      f"{os.cpu_count()} cores, {platform.machine()}, release build; okta-sim on the same machine. Took "
      f"{fmt(time.monotonic() - started, 0)} s.")
    w("")
    w("### 1. Request efficiency (requests a full sync issued / the floor; okta-sim with `--log-lag 5s`)")
    w("")
    w("The floor: for each endpoint ceil(items / largest page) (apps 200, users 200, app users 500 per app, logs 1000 "
      "of the events the sync's filter matches: sign-ins of every counted type and the changes it follows), one "
      "`/apps/{id}/groups` page per app, plus the 3 access checks. Target ≤ 1.05.")
    w("")
    w("| preset | users | apps | SSO sign-ins (30d) | requests | floor | ratio | report = truth |")
    w("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in raws:
        w(f"| {r['preset']} | {r['users']} | {r['apps']} | {r['events']} | {r['requests']} | {r['floor']} | "
          f"**{fmt(r['requests'] / r['floor'], 3)}** | {'yes' if r['matchesTruth'] else 'NO'} |")
    w("")
    w(f"### 2. Time against the rate-limit floor (okta-sim with Okta's default limits, {args.time_scale:g}x time scale)")
    w("")
    w("Floor = the largest over buckets of (floor requests in the bucket / the token's per-minute budget: apps 50, "
      "users 300, logs 60), in Okta minutes, divided by the time scale. Target ≤ 1.15.")
    w("")
    w("| preset | client | Okta minutes at the floor | floor (s) | wall (s) | wall / floor | requests | 429s | report = truth |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for p, rows in thr:
        for who, r in rows.items():
            name = "dti-operator sync" if who == "ours" else "Okta Python SDK"
            w(f"| {p} | {name} | {fmt(r['okta_minutes'])} | {fmt(r['floor'], 1)} | {fmt(r['wall'], 1)} | "
              f"**{fmt(r['wall'] / r['floor'])}** | {r['requests']} | {r['429']} | {'yes' if r['matchesTruth'] else 'NO'} |")
    w("")
    w("### 3. Raw speed unthrottled (`--no-rate-limit`, `--log-lag 5s`)")
    w("")
    w("The sync saves its checkpoint (`--state`), the same bytes the operator keeps in OktaSyncState objects "
      "(past `run --checkpoint-cap-mib`, default 16, none is kept).")
    w("")
    w("| preset | SSO sign-ins read | (app, user) pairs | wall (s) | events/s | CPU (s) | peak RSS (MiB) | checkpoint (KiB) | okta-sim startup (s) |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in raws:
        w(f"| {r['preset']} | {r['events']} | {r['pairs']} | {fmt(r['wall'])} | {fmt(r['events'] / r['wall'], 0)} | "
          f"{fmt(r['cpu'])} | {fmt(r['rss'], 1)} | {fmt(r['checkpoint'] / 1024, 1)} | {fmt(r['simStartup'])} |")
    w("")
    w("### 4. Side by side with the official Okta SDK (PyPI `okta` 3.4.6), same okta-sim org")
    w("")
    w("The SDK script (okta-sim/tests/python/sdk_report.py) computes the same report by the same rules: list apps, "
      "each app's users, users, the System Log's sign-ins, then aggregate. Ratios are ours / theirs (below 1: we are cheaper).")
    w("")
    w("| preset | mode | wall ours / SDK (s) | wall ratio | requests ours / SDK | requests ratio | peak RSS ours / SDK (MiB) | RSS ratio | reports agree |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for r in raws:
        if "sdk" in r:
            s = r["sdk"]
            w(f"| {r['preset']} | unthrottled | {fmt(r['wall'])} / {fmt(s['wall'])} | **{fmt(r['wall'] / s['wall'], 3)}** | "
              f"{r['requests']} / {s['requests']} | {fmt(r['requests'] / s['requests'], 3)} | {fmt(r['rss'], 1)} / {fmt(s['rss'], 1)} | "
              f"**{fmt(r['rss'] / s['rss'], 3)}** | {'yes' if s['agrees'] else 'NO'} |")
    for p, rows in thr:
        if "sdk" in rows:
            o, s = rows["ours"], rows["sdk"]
            w(f"| {p} | rate-limited {args.time_scale:g}x | {fmt(o['wall'], 1)} / {fmt(s['wall'], 1)} | **{fmt(o['wall'] / s['wall'], 3)}** | "
              f"{o['requests']} / {s['requests']} | {fmt(o['requests'] / s['requests'], 3)} | – | – | "
              f"{'yes' if o['matchesTruth'] and s['matchesTruth'] else 'NO'} |")
    w("")
    w("### 5. Steady state: the sync after an hour of churn (`sync --state`, unthrottled)")
    w("")
    w("After a full sync, okta-sim's living org makes an hour of changes (60 random assignment, membership, status "
      "and sign-in changes, each writing the System Log events Okta writes, plus an hour's sign-ins), then the next sync "
      "resumes from the saved checkpoint, as the operator's does. Target: ceil(new events / 1000) + the changed apps' "
      "pages + 30. *Previous design*: what re-listing every app's users and every user on each sync costs on the same org.")
    w("")
    w("| preset | changes / sign-ins | full sync requests | steady requests | target | steady / target | previous design | steady / previous | apps re-listed | events read | checkpoint (KiB) | report = truth |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in steadies:
        st = r["steady"]
        w(f"| {r['preset']} | {r['churn']['changes']} / {r['churn']['signIns']} | {r['first']['requests']} | {st['requests']} | "
          f"{r['target']} | **{fmt(st['requests'] / r['target'])}** | {r['previous']} | **{fmt(st['requests'] / r['previous'], 3)}** | "
          f"{st['relisted']} | {st['events']} | {fmt(r['stateBytes'] / 1024, 1)} | {'yes' if r['matchesTruth'] else 'NO'} |")
    w("")
    if args.only_history:
        del lines[2:]  # the run line and its blank line; only section 7 was run
        return "\n".join(lines) + "\n" + history_section(histories)
    if args.only_operator:
        del lines[2:]  # the run line and its blank line; sections 1-5 and 7 were not run
    if args.only_history:
        return "\n".join(lines)
    w("### 6. The operator on a local control plane: OktaApps (`--app-writes-per-second` 20, unthrottled Okta)")
    w("")
    w("Time from applying the OktaIntegration to Ready and to every OktaApp written; the API writes of the next, "
      "steady-state sync of a quiet org (target: none); the OktaIntegration object's size as `kubectl get -o json` "
      "prints it; the operator's peak RSS over the run and its RSS once steady (one integration of that size); "
      "Okta requests of a steady sync after an hour of churn (60 changes and an hour's sign-ins) and of the first "
      "sync after restarting the operator, after another such hour (target: at most 1.1 times the steady one; the "
      "restarted operator checks its credentials again: 3 requests). Past the checkpoint cap (`run --checkpoint-cap-mib`, "
      "default 16) no checkpoint is kept and a restart scans in full, by design; that case is not measured.")
    w("")
    w("| preset | apps | to Ready (s) | to every OktaApp (s) | OktaApp writes, steady sync | status writes, steady sync | OktaIntegration (KiB) | peak / steady RSS (MiB) | checkpoint (KiB) | Okta requests: steady / after restart | ratio |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in operators:
        checkpoint = r["checkpoint"]
        saved = f"{fmt(checkpoint.get('bytes', 0) / 1024, 1)} {checkpoint.get('state', 'none')}"
        restart = ("not measured: over the cap, a restart scans in full | –" if r["restartRequests"] is None else
                   f"{r['steadyRequests']} / {r['restartRequests']} | **{fmt(r['restartRequests'] / max(1, r['steadyRequests']))}**")
        w(f"| {r['preset']} | {r['apps']} | {fmt(r['toReady'], 1)} | {fmt(r['toApps'], 1)} | {r['appWrites']:.0f} | "
          f"{r['statusWrites']:.0f} | {fmt(r['objectBytes'] / 1024, 1)} | {fmt(r['rss'], 1)} / {fmt(r['heldRss'], 1)} | "
          f"{saved} | {restart} |")
    return "\n".join(lines) + ("" if args.only_operator else "\n\n" + history_section(histories))


def history_section(histories):
    """Section 7: usage history's cost."""
    lines = []
    w = lines.append
    w("### 7. Usage history's cost (`sync --state`, unthrottled): history off (`--history-months 0 --history-weeks 0`) and on (13 months, 26 weeks)")
    w("")
    w("A first (full) sync each, one after the other against the same okta-sim org: peak RSS and the checkpoint. "
      "With history the first sync reads the System Log back 90 days (okta-sim's generated log holds 31 to 35 days, "
      "so both read the same events here). *After N months*: okta-sim's clock moved a day at a time with churn and "
      "sign-ins each day and a sync each week, then the checkpoint with N months and the weeks closed. Target: RSS "
      "with / without at most 1.10 at large.")
    w("")
    w("| preset | peak RSS off / on (MiB) | RSS ratio | wall off / on (s) | checkpoint off / on (KiB) | checkpoint ratio | after N months: checkpoint (KiB), peak RSS (MiB), months shown |")
    w("|---|---:|---:|---:|---:|---:|---|")
    for r in histories:
        year = (f"{r['months']}: {fmt(r['yearBytes'] / 1024, 1)}, {fmt(r['yearRss'], 1)}, {r['yearMonths']}"
                if r["months"] else "–")
        w(f"| {r['preset']} | {fmt(r['offRss'], 1)} / {fmt(r['onRss'], 1)} | **{fmt(r['onRss'] / r['offRss'], 3)}** | "
          f"{fmt(r['offWall'], 1)} / {fmt(r['onWall'], 1)} | {fmt(r['offBytes'] / 1024, 1)} / {fmt(r['onBytes'] / 1024, 1)} | "
          f"{fmt(r['onBytes'] / r['offBytes'], 3)} | {year} |")
    w("")
    return "\n".join(lines)


def scale_section(rows, started):
    """Section 8: many small orgs on one operator, with no state cache and with the default one."""
    lines = ["### 8. Many orgs on one operator (`okta-sim --orgs N`, small, unthrottled; one replica)", "",
             "Every integration applied at once; time until all are Ready; the operator's peak RSS and its RSS "
             "at rest once they are; the sync states the cache keeps. *Rest / peak* shows how little stays "
             "between syncs.", "",
             "| orgs | --state-cache-mib | to Ready (s) | peak RSS (MiB) | RSS at rest (MiB) | states kept | cache (MiB) | rest / peak |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['orgs']} | {r['cache']} | {r['toReady']:.1f} | {r['peak']:.1f} | {r['rest']:.1f} | "
                     f"{int(r['states'])} | {r['cacheBytes'] / 1048576:.1f} | **{r['rest'] / r['peak']:.2f}** |")
    if len(rows) == 2:
        lines.append("")
        lines.append(f"At rest, no cache / default cache: **{rows[0]['rest'] / rows[1]['rest']:.2f}**. "
                     f"Took {time.monotonic() - started:.0f} s.")
    return "\n".join(lines)


def shards_section(rows, started):
    """Section 9: many small orgs, Okta's rate limits, on one replica and on several sharded ones."""
    lines = ["### 9. Shards across replicas (`run --sharding`, `okta-sim --orgs N`, small, Okta's default rate limits)", "",
             "Every integration applied at once; time until all are Ready; each replica's share, peak RSS and RSS at "
             "rest; the API server's requests in a minute at rest (every client). With three: one replica killed "
             "(seconds until the others own its integrations, and until each has synced again on request, each after the kill "
             "/ after its Lease expired: its last renewal plus 15 s, read from the API server; the requests go out right after the "
             "kill from 16 kubectl calls at once, since one holds to 5 requests a second), a fourth "
             "joined (integrations moved), and writes of an integration by a replica after a live one took it over "
             "(the API server's audit log).", "",
             "| orgs | replicas | syncs at once | to Ready (s) | shares | peak RSS (MiB) | RSS at rest (MiB) | API req/min at rest | "
             "killed: owned (s) | killed: synced (s) | moved on join | double writes |",
             "|---:|---:|---:|---:|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        shares = " / ".join(str(n) for n in r["shares"])
        peak = " / ".join(f"{p:.1f}" for _, p in r["rss"])
        rest = " / ".join(f"{x:.1f}" for x, _ in r["rss"])
        kill = (f"{r['takeover']:.1f} / {r['takeoverAfterExpiry']:.1f} ({r['movedOnKill']})",
                f"{r['resynced']:.1f} / **{r['resyncedAfterExpiry']:.1f}**", str(r["movedOnJoin"]),
                f"**{r['doubleWrites']}**") if "takeover" in r else ("–", "–", "–", "–")
        orgs = f"{r['orgs']} + {r['medium']} medium" if r.get("medium") else str(r["orgs"])
        lines.append(f"| {orgs} | {r['replicas']} | {r.get('maxSyncs', 4)} | {r['toReady']:.1f} | {shares} | {peak} | {rest} | "
                     f"{r['apiPerMinute']:.0f} | {kill[0]} | {kill[1]} | {kill[2]} | {kill[3]} |")
    if len(rows) == 2:
        lines.append("")
        lines.append(f"To Ready, one replica / three: **{rows[0]['toReady'] / rows[1]['toReady']:.2f}**. "
                     f"Took {time.monotonic() - started:.0f} s.")
    return "\n".join(lines)


def soak_section(r, started):
    """Section 10: a living org's churn on three sharded replicas, replicas killed, the API server restarted:
    equal to the truth at the end, no double writes, memory flat."""
    lines = [f"### 10. Soak: {r['minutes']} minutes of churn across {r['orgs']} integrations on three replicas", "",
             "okta-sim `--orgs` (small, Okta's default rate limits in real time, System Log 3 s late), each org "
             "changed every minute (an assignment, membership, status or app change, and a sign-in); "
             f"`syncInterval: 5m`, `--max-concurrent-syncs {r['maxSyncs']}`, "
             + (f"`--state-cache-mib {r['cacheMib']}`, " if r.get("cacheMib") is not None else "the default state cache, ")
             + f"15 s leases. One replica SIGKILLed every {r.get('killEvery', 10)} "
             "minutes, in turn, and started again under a new name; the API server restarted once; a replica that "
             "exits is started again (as the kubelet would). At the end every integration syncs on request and is "
             "compared with okta-sim's truth (summary and every OktaApp), and the audit log is checked for an "
             "integration written by a replica after a live one took it over.", "",
             "| minute | event |", "|---:|---|"]
    lines += [f"| {m} | {e} |" for m, e in r["events"]]
    lines += ["", f"To Ready: {r['toReady']:.1f} s. Processes: {r['processes']}. Integrations differing from the "
              f"truth at the end: **{len(r['diffs'])} of {r['orgs']}**. Double writes: **{r['doubleWrites']}**.", "",
              f"Each replica that lived {2 * r.get('killEvery', 10)} minutes or more, means over its first and its last "
              f"{r.get('killEvery', 10)} minutes "
              f"(sampled every {r.get('sampleSeconds', 60)} s):", "",
              "| replica | RSS first (MiB) | RSS last (MiB) | change | peak (MiB) | state cache first → last (MiB) "
              "| RSS less the cache, change | integrations owned first → last |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, x in sorted(r["rss"].items()):
        # the state cache is bounded (--state-cache-mib) and fills over a new replica's first syncs
        rest_first, rest_last = x['first'] - x['cacheFirst'], x['last'] - x['cacheLast']
        lines.append(f"| {name} | {x['first']:.1f} | {x['last']:.1f} | {x['last'] / x['first'] - 1:+.1%} | "
                     f"{x['peak']:.1f} | {x['cacheFirst']:.1f} → {x['cacheLast']:.1f} | "
                     f"{rest_last / rest_first - 1:+.1%} | {x['ownedFirst']:.1f} → {x['ownedLast']:.1f} |")
    if r["diffs"]:
        lines += ["", "Differences: " + "; ".join(f"{k}: {v}" for k, v in sorted(r["diffs"].items())[:5])]
    lines += ["", f"Took {time.monotonic() - started:.0f} s."]
    return "\n".join(lines)
