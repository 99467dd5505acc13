"""Benchmarks of `dti-operator sync` against okta-sim, side by side with Okta's official Python SDK.

Run through scripts/bench.sh (which builds release binaries and the venv). Modes:
  --quick   small and medium presets (under 5 minutes)
  (default) small, medium, large, and xlarge for raw speed
Writes BENCHMARKS.md (unless --no-write) and prints the summary tables.

Every number comes from this run: requests are counted by okta-sim (GET /__sim/stats), CPU time and peak
RSS by the kernel (wait4 rusage of the measured process), wall time by this script.
"""
import argparse
import atexit
import datetime
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
import bench_render  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.path.join(TARGET, "release")
# A token's default share (50%) of Okta's Workforce per-minute limits, per bucket.
BUDGET = {"apps": 50, "users": 300, "logs": 60, "app": 250, "user": 1000, "groups": 250, "other": 600}
PAGE = {"apps": 200, "users": 200, "app_users": 500, "logs": 1000}
# An hour's sign-ins in each preset (its 30-day total / 720), for churn between syncs.
SIGN_INS_PER_HOUR = {"small": 12, "medium": 270, "large": 3300, "xlarge": 33000}


# Temp files live in a directory of our own (mode 0700, removed at exit): tempfile.mktemp's names could be
# taken by someone else between choosing and using them.
_WORK = tempfile.mkdtemp(prefix="dti-bench-")
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)
_NAMES = itertools.count()


def temp_path(suffix):
    """A path no one else can have created: inside this run's private directory."""
    return os.path.join(_WORK, f"{next(_NAMES)}{suffix}")


def sh(*args, **kw):
    return subprocess.run(args, check=True, **kw)


class Sim:
    def __init__(self, preset, extra=(), truth=True):
        self.truth_path = temp_path(".json")
        args = [os.path.join(BIN, "okta-sim"), "--scale", preset, "--port", "0",
                "--token", "ours=all", "--token", "sdk=all", *extra]
        if truth:
            args += ["--truth", self.truth_path, "--usage-window", "30d"]
        started = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.base = self.proc.stdout.readline().strip()
        self.startup = time.monotonic() - started
        self.host = self.base[len("http://"):]
        self.truth = json.load(open(self.truth_path)) if truth else None

    def stats(self):
        with urllib.request.urlopen(self.base + "/__sim/stats") as r:
            return json.load(r)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def measure(args, env=None):
    """Runs a command; returns (stdout, wall seconds, cpu seconds, peak RSS MiB)."""
    started = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    out, err = [], []
    # read both pipes without deadlock: stdout is one JSON document, stderr is short
    import threading
    t = threading.Thread(target=lambda: err.append(proc.stderr.read()))
    t.start()
    out.append(proc.stdout.read())
    _, status, usage = os.wait4(proc.pid, 0)
    t.join()
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {err[0][-2000:]}")
    LAST_STDERR[0] = err[0]
    return out[0], wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


LAST_STDERR = [""]


def events_read():
    """System Log events the last `dti-operator sync` read: what its filter matched, each read once."""
    m = re.search(r"(\d+) events read", LAST_STDERR[0])
    return int(m.group(1)) if m else 0


def ours(sim, token="ours", state=None):
    env = dict(os.environ, OKTA_API_TOKEN=token)
    extra = ["--state", state] if state else []
    out, wall, cpu, rss = measure([os.path.join(BIN, "dti-operator"), "sync", "--domain", sim.host,
                                   "--insecure-allow-http", "--format", "json", *extra], env)
    return json.loads(out), wall, cpu, rss


def sdk(sim, python, token="sdk"):
    out, wall, cpu, rss = measure([python, os.path.join(ROOT, "okta-sim/tests/python/sdk_report.py"), sim.base, token])
    return json.loads(out), wall, cpu, rss


def floor_requests(truth, grouped=0, events=None):
    """The fewest requests a full sync can make: ceil(items / largest page) per endpoint, one groups page per
    app (kept to follow membership changes), plus 3 access checks."""
    apps = truth["apps"]
    by_bucket = {
        "apps": math.ceil(len(apps) / PAGE["apps"]) or 1,
        "users": math.ceil(truth["summary"]["users"] / PAGE["users"]) or 1,
        "logs": math.ceil((events if events is not None else truth["summary"]["ssoEvents"]) / PAGE["logs"]) or 1,
    }
    by_bucket["apps"] += sum(max(1, math.ceil(a["assignedUsers"] / PAGE["app_users"])) for a in apps) + grouped
    for bucket in ("apps", "users", "logs"):
        by_bucket[bucket] += 1  # the access check
    return by_bucket


def grouped_apps(sim):
    """Apps of the inventory: each one's /groups page is part of a full sync (the groups assigned to an app,
    even with no member yet, are what lets membership events re-list it; only asking shows there are none)."""
    org = get(sim, "/__sim/org")
    return sum(1 for a in org["apps"] if a["kind"] == "saas" and not a["deleted"])


def requests_of(stats, status=None):
    total = 0
    for bucket in stats["buckets"].values():
        total += bucket["status"].get(status, 0) if status else bucket["requests"]
    return total


def same_report(a, b):
    """The numbers both compute: the SDK script's summary fields and every app's counts."""
    if any(a["summary"][k] != v for k, v in b["summary"].items()):
        return False
    key = lambda r: (r["id"], r["assignedUsers"], r["activeUsers"], r["unusedSeats"], r["ssoEvents"])  # noqa: E731
    return sorted(map(key, a["apps"])) == sorted(map(key, b["apps"]))


def pairs(truth):
    return sum(a["activeUsers"] for a in truth["apps"])


def raw(preset, python, with_sdk):
    # a late, out-of-order System Log as a real org's (each event visible up to 5 s after it was published)
    sim = Sim(preset, ["--no-rate-limit", "--log-lag", "5s"])
    # the sync saves its checkpoint (the bytes the operator stores in OktaSyncState objects) to measure its size
    state = temp_path(".state")
    try:
        report, wall, cpu, rss = ours(sim, state=state)
        checkpoint = os.path.getsize(state)
        stats = sim.stats()
        floor = floor_requests(sim.truth, grouped_apps(sim), events_read())
        row = {
            "preset": preset, "simStartup": sim.startup, "wall": wall, "cpu": cpu, "rss": rss,
            "requests": requests_of(stats), "floor": sum(floor.values()),
            "events": sim.truth["summary"]["ssoEvents"], "pairs": pairs(sim.truth),
            "users": sim.truth["summary"]["users"], "apps": sim.truth["summary"]["apps"],
            "matchesTruth": report["summary"] == sim.truth["summary"], "checkpoint": checkpoint,
        }
        if with_sdk:
            before = requests_of(sim.stats())
            theirs, s_wall, s_cpu, s_rss = sdk(sim, python)
            row["sdk"] = {"wall": s_wall, "cpu": s_cpu, "rss": s_rss, "requests": requests_of(sim.stats()) - before,
                          "agrees": same_report(report, theirs)}
        return row
    finally:
        sim.stop()
        if os.path.exists(state):
            os.remove(state)


def throttled(preset, python, scale, with_sdk):
    rows = {}
    for who in (["ours", "sdk"] if with_sdk else ["ours"]):
        sim = Sim(preset, ["--time-scale", str(scale)])
        try:
            if who == "ours":
                report, wall, cpu, rss = ours(sim)
            else:
                report, wall, cpu, rss = sdk(sim, python)
            stats = sim.stats()
            floor = floor_requests(sim.truth, grouped_apps(sim), events_read() if who == "ours" else None)
            floor_minutes = max(floor[b] / BUDGET[b] for b in floor)
            rows[who] = {"wall": wall, "floor": floor_minutes * 60.0 / scale, "okta_minutes": floor_minutes,
                         "requests": requests_of(stats), "429": requests_of(stats, "429"),
                         "matchesTruth": same_report(sim.truth, report)}
        finally:
            sim.stop()
    return rows


def post(sim, path, body):
    return post_host(sim.base[len("http://"):], path, body)


def post_host(host, path, body):
    req = urllib.request.Request(f"http://{host}{path}", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def get(sim, path):
    with urllib.request.urlopen(sim.base + path) as r:
        return json.load(r)


def state_sync(sim, state, token="ours"):
    """`dti-operator sync --state FILE`: resumes from the checkpoint, as the operator's next sync does."""
    env = dict(os.environ, OKTA_API_TOKEN=token)
    args = [os.path.join(BIN, "dti-operator"), "sync", "--domain", sim.host, "--insecure-allow-http", "--format", "json",
            "--state", state]
    started = time.monotonic()
    p = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    line = next(l for l in p.stderr.splitlines() if l.startswith("sync: "))
    number = lambda pattern: int(re.search(pattern, line).group(1))  # noqa: E731
    return {"report": json.loads(p.stdout), "wall": time.monotonic() - started, "mode": line.split()[1],
            "events": number(r"(\d+) events read"), "relisted": number(r"(\d+) app\(s\) re-listed")}


def steady(preset, changes, sign_ins):
    """A full sync, an hour of churn, then the steady-state sync: its requests against the target and against
    what the previous design (re-list every app's users and every user each sync) would have sent."""
    sim = Sim(preset, ["--no-rate-limit"], truth=False)
    state = temp_path(".state")
    try:
        first = state_sync(sim, state)
        first["requests"] = requests_of(sim.stats())
        churn = post(sim, "/__sim/churn", {"changes": changes, "signIns": sign_ins, "seed": 1})
        before = sim.stats()
        second = state_sync(sim, state)
        after = sim.stats()
        second["requests"] = requests_of(after) - requests_of(before)
        truth = get(sim, f"/__sim/truth?window=30d&asOf=now&domain={sim.host}")
        apps = truth["apps"]
        avg_pages = sum(max(1, math.ceil(a["assignedUsers"] / PAGE["app_users"])) for a in apps) / max(1, len(apps))
        target = math.ceil(second["events"] / PAGE["logs"]) + math.ceil(second["relisted"] * avg_pages) + 30
        previous = (math.ceil(len(apps) / PAGE["apps"]) + sum(max(1, math.ceil(a["assignedUsers"] / PAGE["app_users"])) for a in apps)
                    + math.ceil(truth["summary"]["users"] / PAGE["users"]) + math.ceil(second["events"] / PAGE["logs"]) + 1)
        size = os.path.getsize(state)
        return {"preset": preset, "churn": churn, "first": first, "steady": second, "target": target,
                "previous": previous, "stateBytes": size, "matchesTruth": second["report"]["summary"] == truth["summary"]}
    finally:
        sim.stop()
        if os.path.exists(state):
            os.remove(state)


def kubectl(cp, *args, stdin=None):
    return subprocess.run([os.path.join(cp, "kubectl"), "--kubeconfig", os.path.join(cp, "kubeconfig"), *args],
                          input=stdin, capture_output=True, text=True, check=True).stdout


def metric(url, name):
    with urllib.request.urlopen(url + "/metrics") as r:
        text = r.read().decode()
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.startswith(name))


def wait(what, check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise RuntimeError(f"timed out waiting for {what}")


def proc_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))


def requested_sync(cp, sim, get, value):
    """Requests a sync through the annotation, waits until it is handled; returns okta-sim's requests for it."""
    before = requests_of(sim.stats())
    kubectl(cp, "-n", "bench", "annotate", "--overwrite", "oktaintegration", "acme", f"dti.dev/sync-requested-at={value}")
    wait(f"the sync {value}", lambda: get()["status"].get("lastHandledSyncRequest") == value, 3600)
    return requests_of(sim.stats()) - before


def operator_apps(preset):
    """The operator on a local control plane: time to Ready and to every OktaApp written, the API writes of
    a steady-state sync of a quiet org, the OktaIntegration's size, and the operator's peak RSS."""
    cp = tempfile.mkdtemp(prefix="dti-bench-cp-")
    subprocess.run([os.path.join(ROOT, "scripts/control-plane.sh"), "up", cp], check=True, capture_output=True)
    sim = Sim(preset, ["--no-rate-limit"], truth=False)
    op = None
    try:
        kubectl(cp, "apply", "--server-side", "-f", os.path.join(ROOT, "crds"))
        for crd in ("oktaintegrations", "oktaapps", "oktasyncstates"):
            kubectl(cp, "wait", "--for=condition=Established", f"crd/{crd}.dti.dev", "--timeout=60s")
        kubectl(cp, "create", "namespace", "bench")
        kubectl(cp, "-n", "bench", "create", "secret", "generic", "okta", "--from-literal=token=ours")
        port = 18000 + os.getpid() % 1000
        start_operator = lambda: subprocess.Popen(  # noqa: E731
            [os.path.join(BIN, "dti-operator"), "run", "--insecure-allow-http", "--kubeconfig",
             os.path.join(cp, "kubeconfig"), "--metrics-addr", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        op = start_operator()
        url = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        kubectl(cp, "-n", "bench", "apply", "--server-side", "-f", "-", stdin=json.dumps({
            "apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration", "metadata": {"name": "acme"},
            "spec": {"domain": sim.host, "maxAppsInStatus": 100,
                     "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}}}))
        get = lambda: json.loads(kubectl(cp, "-n", "bench", "get", "oktaintegration", "acme", "-o", "json"))  # noqa: E731
        ready = lambda o: any(c["type"] == "Ready" and c["status"] == "True" for c in o.get("status", {}).get("conditions", []))  # noqa: E731
        obj = wait("Ready", lambda: (lambda o: o if ready(o) else None)(get()), 3600)
        to_ready = time.monotonic() - started
        apps = obj["status"]["summary"]["apps"]
        count = lambda: len(json.loads(kubectl(cp, "-n", "bench", "get", "oktaapps", "-o", "json"))["items"])  # noqa: E731
        wait("every OktaApp", lambda: count() >= apps, 7200)
        to_apps = time.monotonic() - started
        writes = (metric(url, "dti_oktaapp_writes_total"), metric(url, "dti_status_writes_total"))
        requested_sync(cp, sim, get, "quiet")
        time.sleep(2)
        steady = (metric(url, "dti_oktaapp_writes_total") - writes[0], metric(url, "dti_status_writes_total") - writes[1])
        text = kubectl(cp, "-n", "bench", "get", "oktaintegration", "acme", "-o", "json")
        size, checkpoint = len(text), json.loads(text)["status"].get("checkpoint", {})
        peak, held = proc_kib(op.pid, "VmHWM") / 1024, proc_kib(op.pid, "VmRSS") / 1024
        # an hour of churn, then a steady sync; another hour, then a restart: the new process resumes from
        # the OktaSyncState checkpoint (and checks its credentials again), not a full scan
        hour = {"changes": 60, "signIns": SIGN_INS_PER_HOUR[preset]}
        post(sim, "/__sim/churn", dict(hour, seed=1))
        steady_requests = requested_sync(cp, sim, get, "churned")
        restart_requests = None  # past the checkpoint cap a restart scans in full, by design: not measured
        if checkpoint.get("state") == "Saved":
            post(sim, "/__sim/churn", dict(hour, seed=2))
            op.terminate()
            op.wait()
            op = start_operator()
            restart_requests = requested_sync(cp, sim, get, "after-restart")
        return {"preset": preset, "apps": apps, "toReady": to_ready, "toApps": to_apps, "appWrites": steady[0],
                "statusWrites": steady[1], "objectBytes": size, "rss": peak, "heldRss": held,
                "checkpoint": checkpoint, "steadyRequests": steady_requests, "restartRequests": restart_requests}
    finally:
        if op:
            op.terminate()
            op.wait()
        sim.stop()
        subprocess.run([os.path.join(ROOT, "scripts/control-plane.sh"), "down", cp], capture_output=True)


def scale_at_rest(orgs, cache_mib):
    """`orgs` small orgs from one okta-sim (`--orgs`) on one operator with `--state-cache-mib cache_mib`: time
    until every integration is Ready, the operator's peak RSS, its RSS at rest after, and the states kept."""
    cp = tempfile.mkdtemp(prefix="dti-bench-cp-")
    subprocess.run([os.path.join(ROOT, "scripts/control-plane.sh"), "up", cp], check=True, capture_output=True)
    sim = subprocess.Popen([os.path.join(BIN, "okta-sim"), "--scale", "small", "--no-rate-limit", "--port", "0",
                            "--orgs", str(orgs), "--token", "ours=all"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    hosts = [sim.stdout.readline().strip()[len("http://"):] for _ in range(orgs)]
    op = None
    try:
        kubectl(cp, "apply", "--server-side", "-f", os.path.join(ROOT, "crds"))
        for crd in ("oktaintegrations", "oktaapps", "oktasyncstates", "appcontracts"):
            kubectl(cp, "wait", "--for=condition=Established", f"crd/{crd}.dti.dev", "--timeout=60s")
        kubectl(cp, "create", "namespace", "bench")
        kubectl(cp, "-n", "bench", "create", "secret", "generic", "okta", "--from-literal=token=ours")
        port = 18000 + os.getpid() % 1000
        op = subprocess.Popen(
            [os.path.join(BIN, "dti-operator"), "run", "--insecure-allow-http", "--kubeconfig",
             os.path.join(cp, "kubeconfig"), "--metrics-addr", f"127.0.0.1:{port}",
             "--state-cache-mib", str(cache_mib), "--app-writes-per-second", "200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.monotonic()
        docs = [{"apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration", "metadata": {"name": f"org-{i}"},
                 "spec": {"domain": h, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}}}
                for i, h in enumerate(hosts)]
        kubectl(cp, "-n", "bench", "apply", "--server-side", "-f", "-",
                stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))

        def ready_count():
            items = json.loads(kubectl(cp, "-n", "bench", "get", "oktaintegrations", "-o", "json"))["items"]
            return sum(any(c["type"] == "Ready" and c["status"] == "True"
                           for c in o.get("status", {}).get("conditions", [])) for o in items)
        wait("every integration Ready", lambda: ready_count() == orgs or None, 3600)
        to_ready = time.monotonic() - started
        time.sleep(10)  # the last OktaApp writes and checkpoints settle
        url = f"http://127.0.0.1:{port}"
        return {"orgs": orgs, "cache": cache_mib, "toReady": to_ready, "peak": proc_kib(op.pid, "VmHWM") / 1024,
                "rest": proc_kib(op.pid, "VmRSS") / 1024, "states": metric(url, "dti_state_cache_states"),
                "cacheBytes": metric(url, "dti_state_cache_bytes")}
    finally:
        if op:
            op.terminate()
            op.wait()
        sim.terminate()
        sim.wait()
        subprocess.run([os.path.join(ROOT, "scripts/control-plane.sh"), "down", cp], capture_output=True)


class Cluster:
    """A throwaway local control plane (with its audit log) holding the CRDs, a namespace and the token."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dti-bench-cp-")
        try:
            self._prepare()
        except BaseException:
            self.stop()  # a cluster that failed to come up is not left running
            raise

    def _prepare(self):
        subprocess.run([os.path.join(ROOT, "scripts/control-plane.sh"), "up", self.dir], check=True, capture_output=True)
        kubectl(self.dir, "apply", "--server-side", "-f", os.path.join(ROOT, "crds"))
        for crd in ("oktaintegrations", "oktaapps", "oktasyncstates", "appcontracts"):
            # a CRD just created can be missing from the API server's cache for a moment: ask again
            wait(f"CRD {crd} established", lambda: subprocess.run(
                [os.path.join(self.dir, "kubectl"), "--kubeconfig", os.path.join(self.dir, "kubeconfig"), "wait",
                 "--for=condition=Established", f"crd/{crd}.dti.dev", "--timeout=20s"],
                capture_output=True).returncode == 0, 120)
        kubectl(self.dir, "create", "namespace", "bench")
        kubectl(self.dir, "-n", "bench", "create", "secret", "generic", "okta", "--from-literal=token=ours")

    def integrations(self):
        # The raw list: kubectl decoding and printing a thousand statuses each second took a core from the
        # replicas being measured.
        raw = kubectl(self.dir, "get", "--raw", "/apis/dti.dev/v1alpha1/namespaces/bench/oktaintegrations")
        return json.loads(raw)["items"]

    def api_requests(self):
        """The API server's requests served so far (every client, watches included)."""
        text = kubectl(self.dir, "get", "--raw", "/metrics")
        return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.startswith("apiserver_request_total{"))

    def audited_writes(self):
        """(user agent, object name, time) of each successful write of a dti.dev object, in order."""
        return [(agent, name, received) for agent, name, _, received, _ in self.audited_write_details()]

    def audited_write_details(self):
        """Each successful write of a dti.dev object, in the order the API server completed them: (user agent,
        object name, what (verb resource[/subresource]), received, completed)."""
        out = []
        with open(os.path.join(self.dir, "audit.log")) as f:
            for line in f:
                e = json.loads(line)
                ref = e.get("objectRef", {})
                if e.get("stage") == "ResponseComplete" and ref.get("apiGroup") == "dti.dev" and \
                        200 <= e.get("responseStatus", {}).get("code", 0) < 300:
                    what = f'{e.get("verb")} {ref.get("resource")}{"/" + ref["subresource"] if ref.get("subresource") else ""}'
                    out.append((e.get("userAgent", ""), ref.get("name", ""), what, e["requestReceivedTimestamp"],
                                e["stageTimestamp"]))
        return out

    def stop(self):
        subprocess.run([os.path.join(ROOT, "scripts/control-plane.sh"), "down", self.dir], capture_output=True)


class Replica:
    """One `dti-operator run --sharding` process, named `name` (its pod name: the User-Agent carries it)."""

    def __init__(self, cluster, name, port, max_syncs, log=None, cache_mib=None, reconciles=None):
        self.name, self.url, self.port, self.max_syncs = name, f"http://127.0.0.1:{port}", port, max_syncs
        self.started = time.monotonic()
        out = open(log, "a") if log else subprocess.DEVNULL  # a slot's restarts append to its log
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "dti-operator"), "run", "--insecure-allow-http", "--kubeconfig",
             os.path.join(cluster.dir, "kubeconfig"), "--metrics-addr", f"127.0.0.1:{port}", "--sharding",
             "--leader-election-namespace", "bench", "--leader-election-duration", "15s",
             "--watch-namespace", "bench", "--app-writes-per-second", "200",
             "--max-concurrent-syncs", str(max_syncs),
             *(["--state-cache-mib", str(cache_mib)] if cache_mib is not None else []),
             *(["--reconcile-concurrency", str(reconciles)] if reconciles is not None else [])],
            env=dict(os.environ, POD_NAME=name), stdout=out, stderr=out)

    def rss(self):
        return proc_kib(self.proc.pid, "VmRSS") / 1024, proc_kib(self.proc.pid, "VmHWM") / 1024

    def stop(self, kill=False):
        if self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
            self.proc.wait()


def held(replica):
    """What a replica holds now: its state cache (MiB) and the integrations it owns (0, 0 when it does not answer)."""
    try:
        return metric(replica.url, "dti_state_cache_bytes") / 2**20, metric(replica.url, "dti_shard_integrations")
    except OSError:
        return 0.0, 0.0


def sim_orgs(orgs, *extra, scale="small"):
    """okta-sim serving `orgs` orgs of `scale` (`--orgs`, token "ours"), and their host:port addresses."""
    sim = subprocess.Popen([os.path.join(BIN, "okta-sim"), "--scale", scale, "--port", "0", "--orgs", str(orgs),
                            "--token", "ours=all", *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return sim, [sim.stdout.readline().strip()[len("http://"):] for _ in range(orgs)]


def tear_down(replicas, sims, cluster):
    for r in replicas:
        r.stop()
    for sim in sims:
        sim.terminate()
        sim.wait()
    cluster.stop()


def iso_seconds(text):
    """Seconds since the epoch of an RFC 3339 time as Kubernetes writes it."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def lease_expiry(cluster, replica):
    """When (wall clock) the Lease of `replica` expires: its last renewal plus its duration."""
    for lease in json.loads(kubectl(cluster.dir, "-n", "bench", "get", "leases", "-o", "json"))["items"]:
        spec = lease.get("spec", {})
        if spec.get("holderIdentity", "").startswith(replica + "-") and spec.get("renewTime"):
            return iso_seconds(spec["renewTime"]) + spec["leaseDurationSeconds"]
    raise RuntimeError(f"no Lease held by {replica}")


def owners(cluster, names):
    """Each integration's owner (a replica name) when it is Ready, else None."""
    out = {}
    for o in cluster.integrations():
        shard = o.get("status", {}).get("shard", "")
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in o.get("status", {}).get("conditions", []))
        out[o["metadata"]["name"]] = next((n for n in names if shard.startswith(n + "-")), None) if ready else None
    return out


def writers(cluster, names):
    """Per integration, the replicas that wrote it (status, OktaApps, checkpoints), in order, repeats collapsed."""
    seq = {}
    for agent, name, _ in cluster.audited_writes():
        replica = next((n for n in names if f"({n})" in agent), None)
        org = name[:len("org-0000")] if name.startswith("org-") else None
        if replica and org and seq.setdefault(org, [])[-1:] != [replica]:
            seq[org].append(replica)
    return seq


def double_write_details(cluster, names, killed, limit=5):
    """For up to `limit` integrations written again after a live replica took over: their writes from the
    one before the change of hands to the repeat, one line each (replica, what, received, completed)."""
    writes = {}
    for agent, name, what, received, completed in cluster.audited_write_details():
        replica = next((n for n in names if f"({n})" in agent), None)
        if replica and name.startswith("org-"):
            writes.setdefault(name[:len("org-0000")], []).append((replica, name, what, received, completed))
    out = []
    for org, seq in sorted(writes.items()):
        writers_only = []
        for w in seq:
            if writers_only[-1:] != [w[0]]:
                writers_only.append(w[0])
        if written_again(writers_only, killed):
            changes = [i for i in range(1, len(seq)) if seq[i][0] != seq[i - 1][0]]
            out.append({"org": org, "writers": writers_only,
                        "aroundChanges": [seq[j] for i in changes for j in range(max(0, i - 2), min(len(seq), i + 2))]})
        if len(out) >= limit:
            break
    return out


def written_again(seq, killed):
    """Whether a replica wrote again after another one that was not killed (`killed`: a set of names) had
    written in between."""
    for i, w in enumerate(seq):
        before = [j for j in range(i) if seq[j] == w]
        if before and any(x not in killed for x in seq[before[-1] + 1:i]):
            return True
    return False


def cpu_ticks():
    """The machine's CPU time so far (/proc/stat): (busy, total) in clock ticks."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def busy_since(before):
    """The share of the machine's CPU time spent busy since `before` (a `cpu_ticks()`)."""
    busy, total = cpu_ticks()
    return round((busy - before[0]) / max(1, total - before[1]), 2)


def checkpoint_events(cluster, names):
    """Events about loading or saving the checkpoints of integrations `names`: {reason: count}."""
    out = {}
    for e in json.loads(kubectl(cluster.dir, "-n", "bench", "get", "events", "-o", "json"))["items"]:
        if e.get("involvedObject", {}).get("name") in names and "Checkpoint" in (e.get("reason") or ""):
            out[e["reason"]] = out.get(e["reason"], 0) + (e.get("count") or 1)
    return out


def request_syncs(cluster, names, value):
    """Annotates `names` with a sync request in the background, 16 kubectl processes at once on 10 names
    each: one kubectl call holds to client-go's default 5 requests a second, so 300 requests took a minute
    and that minute, not the operator, paced the takeover measured below (runs 4 to 11 of section 9).
    Returns the pool's future, which gives the seconds from the call until the last request landed."""
    began = time.monotonic()
    chunks = [names[i:i + 10] for i in range(0, len(names), 10)]

    def annotate(chunk):
        kubectl(cluster.dir, "-n", "bench", "annotate", "--overwrite", "oktaintegration", *chunk,
                f"dti.dev/sync-requested-at={value}")

    def all_landed():
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(annotate, chunks))
        return time.monotonic() - began

    return ThreadPoolExecutor(max_workers=1).submit(all_landed)


def takeover_costs(cluster, moved, expiry):
    """Where the time after a replica's Lease expired went: the moved integrations' syncs (start after the
    expiry, duration, rate-limit wait, requests) and the writes of dti.dev objects since (count, latency)."""
    syncs = [o.get("status", {}).get("lastSync", {}) for o in cluster.integrations() if o["metadata"]["name"] in moved]
    quantiles = lambda xs: [round(q, 1) for q in (min(xs), sorted(xs)[len(xs) // 2], max(xs))] if xs else []  # noqa: E731
    out = {"syncStart": quantiles([iso_seconds(s["startedAt"]) - expiry for s in syncs if s.get("startedAt")]),
           "syncSeconds": quantiles([s.get("durationSeconds") or 0.0 for s in syncs]),
           "rateLimitWait": quantiles([s.get("rateLimitWaitSeconds") or 0.0 for s in syncs]),
           "oktaRequests": quantiles([s.get("apiRequests") or 0 for s in syncs]),
           "fullScans": sum(1 for s in syncs if s.get("mode") == "Full"),
           "checkpointEvents": checkpoint_events(cluster, moved), "writes": {}}
    with open(os.path.join(cluster.dir, "audit.log")) as f:
        for line in f:
            e = json.loads(line)
            if e.get("stage") != "ResponseComplete" or iso_seconds(e["requestReceivedTimestamp"]) < expiry:
                continue
            ref = e.get("objectRef", {})
            what = f'{e.get("verb")} {ref.get("resource")}{"/" + ref["subresource"] if ref.get("subresource") else ""}'
            row = out["writes"].setdefault(what, [0, 0.0])
            row[0] += 1
            row[1] += iso_seconds(e["stageTimestamp"]) - iso_seconds(e["requestReceivedTimestamp"])
    out["writes"] = {k: (n, round(total / n, 3)) for k, (n, total) in sorted(out["writes"].items())}
    return out


def shards(orgs, replicas, time_scale, max_syncs, medium=0, reconciles=None):
    """`orgs` small orgs, and `medium` medium ones (an okta-sim each, Okta's default rate limits, a minute lasting 60/time_scale s) on
    `replicas` sharded replicas: time until all are Ready, each replica's peak and at-rest RSS and share, the
    API server's requests per minute at rest; with more than one replica, one killed (seconds until its
    integrations are owned by the others, and until they have synced again) and one more joined (integrations
    moved), and the audit log checked for an integration written again after a live replica took it."""
    cluster = Cluster()
    sim, hosts = sim_orgs(orgs, "--time-scale", str(time_scale))
    sims = [sim]
    if medium:
        more, medium_hosts = sim_orgs(medium, "--time-scale", str(time_scale), scale="medium")
        sims.append(more)
        hosts += medium_hosts
    orgs += medium
    names = [f"r{i}" for i in range(replicas + 1)]
    port = 18100 + os.getpid() % 500
    running = []
    try:
        logs = os.environ.get("BENCH_REPLICA_LOGS")  # a directory for each replica's log, when set
        log = lambda name: os.path.join(logs, f"{name}.log") if logs else None  # noqa: E731
        running = [Replica(cluster, names[i], port + i, max_syncs, log(names[i]), reconciles=reconciles)
                   for i in range(replicas)]
        started = time.monotonic()
        docs = [{"apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration", "metadata": {"name": f"org-{i:04d}"},
                 "spec": {"domain": h, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}}}
                for i, h in enumerate(hosts)]
        kubectl(cluster.dir, "-n", "bench", "apply", "--server-side", "-f", "-",
                stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
        live = names[:replicas]
        settled = lambda live: (lambda o: o if len(o) == orgs and all(v in live for v in o.values()) else None)(owners(cluster, names))  # noqa: E731
        first = wait("every integration Ready", lambda: settled(live), 7200)
        row = {"orgs": orgs - medium, "medium": medium, "replicas": replicas, "maxSyncs": max_syncs,
               "toReady": time.monotonic() - started,
               "shares": [sum(1 for v in first.values() if v == n) for n in live]}
        time.sleep(20)  # the last OktaApps and checkpoints settle
        before = cluster.api_requests()
        time.sleep(60)
        row["apiPerMinute"] = cluster.api_requests() - before
        gone = [f"{r.name} (exit status {r.proc.returncode})" for r in running if r.proc.poll() is not None]
        if gone:  # a replica stops when its Lease rounds fail past the renew deadline; nothing restarts it here
            raise RuntimeError(f"replica(s) exited before the measures: {', '.join(gone)}; set BENCH_REPLICA_LOGS "
                               "to a directory to keep their logs")
        row["rss"] = [r.rss() for r in running]
        if replicas > 1:
            victim = running[1]
            moved = [k for k, v in first.items() if v == victim.name]
            cpu = cpu_ticks()
            victim.stop(kill=True)
            killed, expiry = time.monotonic(), lease_expiry(cluster, victim.name)
            print(f"bench: {victim.name} killed at {datetime.datetime.now(datetime.timezone.utc).isoformat()}",
                  file=sys.stderr, flush=True)
            # The requests go out right away and in parallel, while the takeover is measured.
            landed = request_syncs(cluster, moved, "after-kill")
            rest = [n for n in live if n != victim.name]
            wait("the killed replica's integrations owned by the others", lambda: settled(rest), 600)
            row["takeover"], row["takeoverAfterExpiry"] = time.monotonic() - killed, time.time() - expiry
            handled = lambda: all(o.get("status", {}).get("lastHandledSyncRequest") == "after-kill"  # noqa: E731
                                  for o in cluster.integrations() if o["metadata"]["name"] in moved)
            wait("the moved integrations synced again", handled, 600)
            row["resynced"], row["resyncedAfterExpiry"] = time.monotonic() - killed, time.time() - expiry
            row["takeoverCosts"] = takeover_costs(cluster, set(moved), expiry)
            row["takeoverCosts"]["machineBusy"] = busy_since(cpu)
            row["takeoverCosts"]["requestsLandedAfterKill"] = round(landed.result(), 1)
            print(f"bench: after the Lease expired: {json.dumps(row['takeoverCosts'])}", file=sys.stderr, flush=True)
            row["movedOnKill"] = len(moved)
            before_join = owners(cluster, names)
            print(f"bench: {names[replicas]} started at {datetime.datetime.now(datetime.timezone.utc).isoformat()}",
                  file=sys.stderr, flush=True)
            running.append(Replica(cluster, names[replicas], port + replicas, max_syncs, log(names[replicas]),
                                   reconciles=reconciles))
            joined = wait("the joiner's share", lambda: (lambda o: o if o and names[replicas] in o.values() and
                                                         all(v is not None for v in o.values()) else None)(settled(rest + [names[replicas]])), 600)
            row["movedOnJoin"] = sum(1 for k, v in joined.items() if v != before_join.get(k))
            row["doubleWrites"] = sum(written_again(s, {victim.name}) for s in writers(cluster, names).values())
            if row["doubleWrites"]:
                for d in double_write_details(cluster, names, {victim.name}):
                    print(f"bench: written again: {json.dumps(d)}", file=sys.stderr, flush=True)
        return row
    finally:
        tear_down(running, sims, cluster)


def soak_truth_diffs(cluster, hosts):
    """Integrations whose summary or any OktaApp differs from okta-sim's truth as of the operator's last
    caught-up read: {name: first difference}."""
    fields = ("apps", "users", "activeUsers", "assignedUsers", "unusedSeats", "ssoEvents", "usedApps", "unusedApps")
    app_fields = ("assignedUsers", "activeUsers", "unusedSeats", "ssoEvents")
    apps = {}
    for a in json.loads(kubectl(cluster.dir, "-n", "bench", "get", "oktaapps", "-o", "json"))["items"]:
        row = tuple(a.get("status", {}).get(f) for f in app_fields)
        apps.setdefault(a["spec"]["integration"], {})[a["spec"]["appId"]] = row
    diffs = {}
    for o in cluster.integrations():
        name = o["metadata"]["name"]
        truth = json.loads(urllib.request.urlopen(
            f"http://{hosts[int(name[4:])]}/__sim/truth?window=30d&asOf=ours", timeout=60).read())
        summary = o.get("status", {}).get("summary", {})
        wrong = [f for f in fields if summary.get(f) != truth["summary"].get(f)]
        want = {a["id"]: tuple(a[f] for f in app_fields) for a in truth["apps"]}
        if wrong:
            diffs[name] = f"summary {wrong[0]}: {summary.get(wrong[0])} != {truth['summary'].get(wrong[0])}"
        elif apps.get(name, {}) != want:
            bad = sorted(set(want) ^ set(apps.get(name, {}))) or \
                [k for k in want if apps.get(name, {}).get(k) != want[k]]
            diffs[name] = f"{len(bad)} app(s) differ, e.g. {bad[0]}"
    return diffs


SOAK_SAMPLE_SECONDS = 10


def soak(orgs, minutes, kill_every, max_syncs, cache_mib=None):
    """`orgs` small orgs with a living org's churn (okta-sim at Okta's default rate limits, real time) on three
    sharded replicas for `minutes`: one replica SIGKILLed every `kill_every` minutes (in turn) and replaced, the
    API server restarted once half-way; a replica that exits is started again under a new name, as the kubelet
    restarts a container. At the end every integration synced on request and compared with okta-sim's truth, the
    audit log checked for double writes, and each replica that lived 2 x `kill_every` minutes or more: its RSS
    in its first and its last `kill_every` minutes. `cache_mib`: the replicas' `--state-cache-mib` (None: the
    default)."""
    cluster = Cluster()
    sim, hosts = sim_orgs(orgs, "--log-lag", "3s")
    ports = itertools.count(18700 + os.getpid() % 200)
    logs = tempfile.mkdtemp(prefix="dti-soak-")
    seq = itertools.count()
    start = lambda slot: Replica(cluster, f"s{slot}-{next(seq)}", next(ports), max_syncs,  # noqa: E731
                                 os.path.join(logs, f"s{slot}.log"), cache_mib)
    slots = [start(i) for i in range(3)]
    everyone, events, rss = list(slots), [], {}
    try:
        t0 = time.monotonic()
        docs = [{"apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration", "metadata": {"name": f"org-{i:04d}"},
                 "spec": {"domain": h, "syncInterval": "5m",
                          "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}}} for i, h in enumerate(hosts)]
        kubectl(cluster.dir, "-n", "bench", "apply", "--server-side", "-f", "-",
                stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
        names = lambda: [r.name for r in everyone]  # noqa: E731
        wait("every integration Ready", lambda: (lambda o: len(o) == orgs and all(o.values()))(owners(cluster, names())), 3600)
        row = {"orgs": orgs, "minutes": minutes, "maxSyncs": max_syncs, "cacheMib": cache_mib,
               "toReady": time.monotonic() - t0, "sampleSeconds": SOAK_SAMPLE_SECONDS,
               "killEvery": kill_every}
        soak_start, minute = time.monotonic(), 0
        while minute < minutes:
            minute += 1
            for i, h in enumerate(hosts):  # a minute of the living org: a random change and a sign-in per org
                post_host(h, "/__sim/churn", {"changes": 1, "signIns": 1, "seed": minute * 1000 + i})
            if minute % kill_every == 0 and minute < minutes:
                slot = (minute // kill_every - 1) % 3
                slots[slot].stop(kill=True)
                slots[slot] = start(slot)
                everyone.append(slots[slot])
                events.append((minute, f"replica {slot} SIGKILLed, started again as {slots[slot].name}"))
            if minute == minutes // 2 + kill_every // 2:
                subprocess.run([os.path.join(ROOT, "scripts/control-plane.sh"), "restart-apiserver", cluster.dir, "2"],
                               check=True, capture_output=True)
                events.append((minute, "API server restarted (stopped, 2 s, started again)"))
            for slot, r in enumerate(slots):  # the kubelet's part: a replica that exited is started again
                if r.proc.poll() is not None:
                    slots[slot] = start(slot)
                    everyone.append(slots[slot])
                    events.append((minute, f"{r.name} exited ({r.proc.returncode}); started again as {slots[slot].name}"))
            # Sampled every 10 s: the syncs come in bursts a minute or two long, so one sample a minute moves
            # a ten-minute mean by about 1 MiB with where it falls.
            while (left := soak_start + minute * 60 - time.monotonic()) > 0:
                time.sleep(min(SOAK_SAMPLE_SECONDS, left))
                for r in slots:
                    if r.proc.poll() is None:
                        rss.setdefault(r.name, []).append((time.monotonic() - r.started, r.rss()[0], *held(r)))
            print(f"bench: soak minute {minute}: " + " / ".join(f"{r.name} {rss.get(r.name, [(0, 0)])[-1][1]:.0f} MiB"
                                                               for r in slots), file=sys.stderr, flush=True)
        time.sleep(10)  # the last churn past okta-sim's log lag
        kubectl(cluster.dir, "-n", "bench", "annotate", "--overwrite", "oktaintegration", "--all",
                "dti.dev/sync-requested-at=soak-end")
        handled = lambda: all(o.get("status", {}).get("lastHandledSyncRequest") == "soak-end" and  # noqa: E731
                              o.get("status", {}).get("lastSync", {}).get("result") == "Succeeded"
                              for o in cluster.integrations())
        wait("every integration synced after the churn", handled, 1800)
        window = kill_every * 60
        lived = {}
        mean = lambda rows, i: sum(p[i] for p in rows) / len(rows)  # noqa: E731
        for name, points in rss.items():
            if points[-1][0] >= 2 * window:
                first = [p for p in points if p[0] <= window]
                last = [p for p in points if p[0] > points[-1][0] - window]
                lived[name] = {"first": mean(first, 1), "last": mean(last, 1), "peak": max(p[1] for p in points),
                               "cacheFirst": mean(first, 2), "cacheLast": mean(last, 2),
                               "ownedFirst": mean(first, 3), "ownedLast": mean(last, 3)}
        killed = {r.name for r in everyone if r.proc.poll() is not None}
        row.update({"events": events, "rss": lived, "diffs": soak_truth_diffs(cluster, hosts),
                    "doubleWrites": sum(written_again(s, killed) for s in writers(cluster, names()).values()),
                    "processes": len(everyone), "logs": logs})
        return row
    finally:
        tear_down(everyone, [sim], cluster)


def history_sync(sim, state, history, clock=None):
    """One `sync --state` with history kept (default retention) or off; (report, wall, peak RSS MiB)."""
    env = dict(os.environ, OKTA_API_TOKEN="ours")
    extra = [] if history else ["--history-months", "0", "--history-weeks", "0"]
    if clock:
        extra += ["--test-clock-file", clock]
    out, wall, _, rss = measure([os.path.join(BIN, "dti-operator"), "sync", "--domain", sim.host, "--insecure-allow-http",
                                 "--format", "json", "--state", state, *extra], env)
    return json.loads(out), wall, rss


def history_cost(preset, months):
    """Peak RSS and checkpoint bytes of a full sync with history and without, on one okta-sim org; then, with
    okta-sim's movable clock, `months` simulated months of weekly syncs and daily churn, and the checkpoint again."""
    sim = Sim(preset, ["--no-rate-limit", "--movable-clock"], truth=False)
    off, on, clock = temp_path(".state"), temp_path(".state"), temp_path(".now")
    try:
        _, off_wall, off_rss = history_sync(sim, off, False)
        _, on_wall, on_rss = history_sync(sim, on, True)
        row = {"preset": preset, "offRss": off_rss, "onRss": on_rss, "offWall": off_wall, "onWall": on_wall,
               "offBytes": os.path.getsize(off), "onBytes": os.path.getsize(on), "months": months}
        if months:
            sign_ins = {"medium": 400, "large": 4000}.get(preset, 60)
            for day in range(1, months * 30 + 1):
                now = post(sim, "/__sim/clock", {"advanceSeconds": 86400})["now"]
                with open(clock, "w") as f:
                    f.write(now)
                post(sim, "/__sim/churn", {"changes": 3, "signIns": sign_ins, "seed": day})
                if day % 7 == 0:
                    report, _, year_rss = history_sync(sim, on, True, clock)
            row["yearBytes"], row["yearRss"] = os.path.getsize(on), year_rss
            row["yearMonths"] = len(report["summary"]["history"]["months"])
        return row
    finally:
        sim.stop()
        for f in (off, on):
            if os.path.exists(f):
                os.remove(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--python", required=True)
    ap.add_argument("--time-scale", type=float, default=6.0)
    ap.add_argument("--only-operator", action="store_true", help="only the control-plane section (6)")
    ap.add_argument("--only-history", action="store_true", help="only the usage-history section (7)")
    ap.add_argument("--only-scale", action="store_true", help="only the many-orgs section (8), printed, not written")
    ap.add_argument("--scale-orgs", type=int, default=200, help="small orgs in section 8")
    ap.add_argument("--only-shards", action="store_true", help="only the shards section (9), printed, not written")
    ap.add_argument("--shard-orgs", type=int, default=1000, help="small orgs in section 9")
    ap.add_argument("--shard-time-scale", type=float, default=1.0, help="okta-sim's rate-limit minute, faster")
    ap.add_argument("--shard-max-syncs", type=int, default=4, help="--max-concurrent-syncs of each replica")
    ap.add_argument("--shard-medium", type=int, default=0, help="medium orgs in section 9, besides the small")
    ap.add_argument("--shard-reconcile-concurrency", type=int, default=None,
                    help="--reconcile-concurrency of each replica (default: the operator's)")
    ap.add_argument("--shard-replicas", default="1,3", help="comma-separated replica counts in section 9")
    ap.add_argument("--history-presets", default=None,
                    help="comma-separated preset:months for section 7 (default: medium:13, and large:0,xlarge:0 without --quick)")
    ap.add_argument("--operator-presets", default=None,
                    help="comma-separated presets for the control-plane section (default: small with --quick, else large,xlarge)")
    ap.add_argument("--only-soak", action="store_true", help="only the soak (section 10), printed, not written")
    ap.add_argument("--soak-orgs", type=int, default=100, help="small orgs in the soak")
    ap.add_argument("--soak-minutes", type=int, default=60, help="minutes of churn in the soak")
    ap.add_argument("--soak-kill-every", type=int, default=10, help="minutes between kills of a replica")
    ap.add_argument("--soak-max-syncs", type=int, default=16, help="--max-concurrent-syncs of each replica")
    ap.add_argument("--soak-cache-mib", type=int, default=None,
                    help="--state-cache-mib of each replica (default: the operator's)")
    args = ap.parse_args()
    started = time.monotonic()
    if args.only_soak:
        print(f"bench: soak, {args.soak_orgs} small orgs, {args.soak_minutes} min on three replicas", file=sys.stderr,
              flush=True)
        row = soak(args.soak_orgs, args.soak_minutes, args.soak_kill_every, args.soak_max_syncs, args.soak_cache_mib)
        print(bench_render.soak_section(row, started))
        return
    if args.only_shards:
        rows = []
        for replicas in (int(n) for n in args.shard_replicas.split(",")):
            print(f"bench: {args.shard_orgs} small and {args.shard_medium} medium orgs at {args.shard_time_scale}x "
                  f"on {replicas} replica(s)", file=sys.stderr, flush=True)
            rows.append(shards(args.shard_orgs, replicas, args.shard_time_scale, args.shard_max_syncs,
                               args.shard_medium, args.shard_reconcile_concurrency))
        print(bench_render.shards_section(rows, started))
        return
    if args.only_scale:
        rows = []
        for cache in (0, 128):
            print(f"bench: {args.scale_orgs} small orgs, --state-cache-mib {cache}", file=sys.stderr, flush=True)
            rows.append(scale_at_rest(args.scale_orgs, cache))
        print(bench_render.scale_section(rows, started))
        return
    only = args.only_operator or args.only_history
    presets = [] if only else ["small", "medium"] if args.quick else ["small", "medium", "large", "xlarge"]
    # The SDK script holds every event as a model object (about 16 KB each): large would need ~30 GiB.
    sdk_presets = {"small", "medium"}
    throttled_presets = [] if only else ["small", "medium"] if args.quick else ["small", "medium", "large"]
    throttled_sdk = {"small"} if args.quick else {"small", "medium"}

    raws = []
    for p in presets:
        print(f"bench: raw speed, {p}", file=sys.stderr, flush=True)
        raws.append(raw(p, args.python, p in sdk_presets))
    thr = []
    for p in throttled_presets:
        print(f"bench: rate-limited at {args.time_scale}x, {p}", file=sys.stderr, flush=True)
        thr.append((p, throttled(p, args.python, args.time_scale, p in throttled_sdk)))
    steadies = []
    # An hour of churn: a change a minute, and an hour's sign-ins (medium ~270, large ~3,300 an hour)
    for p, sign_ins in ([] if only else [("medium", 270)] if args.quick else [("medium", 270), ("large", 3300)]):
        print(f"bench: steady state with an hour of churn, {p}", file=sys.stderr, flush=True)
        steadies.append(steady(p, 60, sign_ins))

    histories = []
    history_presets = ([(p.split(":")[0], int(p.split(":")[1])) for p in args.history_presets.split(",")]
                       if args.history_presets else [("medium", 13)] if args.quick else
                       [("medium", 13), ("large", 0), ("xlarge", 0)])
    for p, months in ([] if args.only_operator else history_presets):
        print(f"bench: usage history's cost, {p}", file=sys.stderr, flush=True)
        histories.append(history_cost(p, months))

    operators = []
    operator_presets = [] if args.only_history else args.operator_presets.split(",") if args.operator_presets else (
        ["small"] if args.quick else ["large", "xlarge"])
    for p in operator_presets:
        print(f"bench: the operator on a control plane, {p}", file=sys.stderr, flush=True)
        try:
            operators.append(operator_apps(p))
        except Exception as e:  # the other tables still get written; the failure is printed
            print(f"bench: the operator on {p} failed: {e}", file=sys.stderr, flush=True)

    results = {"raws": raws, "thr": thr, "steadies": steadies, "histories": histories, "operators": operators}
    text = bench_render.render(results, args, sys.argv[3:], started)
    print(text)
    if not args.no_write and not args.only_history:
        with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
            f.write("# Benchmarks\n\nReproduce: `scripts/bench.sh --quick` (small and medium, under 5 minutes) or "
                    "`scripts/bench.sh` (all presets). The tables below are that command's output, unedited.\n\n")
            f.write(text + "\n")


if __name__ == "__main__":
    main()
