#!/usr/bin/env bash
# Opt-in integration test of the packaged app in the official splunk/splunk
# Docker image (docker-splunk). NOT run by bin/test. See tests/docker/README.md.
#
#   bash tests/docker/run.sh [standalone|distributed|all]     (default: all)
#
#   standalone   one splunk_standalone container with the app
#   distributed  a search head (app installed) + an indexer (no app: it gets the
#                command through the knowledge bundle); events go to the indexer,
#                searches run on the search head, the streaming command on the peer
#   all          standalone, then distributed (one after the other, to bound memory)
#
# Environment:
#   WINRMDETECT_APP_TGZ   package to install (default: dist/winrmdetect-<version>.tgz,
#                         built with bin/build-app if missing)
#   SPLUNK_IMAGE          image (default splunk/splunk:latest)
#   SPLUNK_PASSWORD       admin password of every container (default: generated)
#   SPLUNK_MGMT_PORT      127.0.0.1 port for the standalone's splunkd 8089 (default 18089)
#   SPLUNK_SH_MGMT_PORT   127.0.0.1 port for the search head's 8089 (default 18091)
#   SPLUNK_IDX_MGMT_PORT  127.0.0.1 port for the indexer's 8089 (default 18092)
#   SPLUNK_WAIT_SECS      how long to wait for a container to become healthy (default 900)
#   KEEP_CONTAINER=1      leave the containers (and network) running afterwards
#
# docker-splunk documentation this script follows (github.com/splunk/docker-splunk):
#   docs/advanced/APP_INSTALL.md   "Apps on filesystem": SPLUNK_APPS_URL=/tmp/app.tgz with the
#                                  tarball bind-mounted; "Apps in distributed environments":
#                                  SPLUNK_APPS_URL is per container, so only the search head
#                                  gets it; SPLUNK_GENERAL_TERMS=--accept-sgt-current-at-splunk-com
#                                  is required from the 10.x images on.
#   docs/advanced/DISTRIBUTED_TOPOLOGY.md  SPLUNK_ROLE values (splunk_standalone,
#                                  splunk_search_head, splunk_indexer, ...), SPLUNK_INDEXER_URL /
#                                  SPLUNK_SEARCH_HEAD_URL = lists of container hostnames on one
#                                  user-defined bridge network with matching aliases.
#   test_scenarios/2idx2sh.yaml, test_scenarios/1sh1idx_dfs.yaml  the same variables on every
#                                  container (SPLUNK_START_ARGS, SPLUNK_INDEXER_URL,
#                                  SPLUNK_SEARCH_HEAD_URL, SPLUNK_ROLE, SPLUNK_PASSWORD),
#                                  hostname == network alias == the names in the URL lists.
#   docs/ADVANCED.md               SPLUNK_PASSWORD, SPLUNK_APPS_URL, svc_port 8089.
# The docker run flags below are those compose files written as `docker run` (no compose
# plugin needed).
set -Eeuo pipefail

MODE="${1:-all}"
case "$MODE" in
  standalone | distributed | all) ;;
  -h | --help)
    sed -n '2,22p' "$0"
    exit 0
    ;;
  *)
    echo "usage: $0 [standalone|distributed|all]" >&2
    exit 2
    ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "SKIPPED: Docker engine not available; this opt-in test needs Docker"
  exit 0
fi
for tool in curl python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool is required" >&2; exit 1; }
done

IMAGE="${SPLUNK_IMAGE:-splunk/splunk:latest}"
PASSWORD="${SPLUNK_PASSWORD:-Wrd-it-$(date +%s)-$RANDOM}"
SO_PORT="${SPLUNK_MGMT_PORT:-18089}"
SH_PORT="${SPLUNK_SH_MGMT_PORT:-18091}"
IDX_PORT="${SPLUNK_IDX_MGMT_PORT:-18092}"
WAIT_SECS="${SPLUNK_WAIT_SECS:-900}"
PREFIX="winrmdetect-it-$$"
SPLUNK_HOME_IN=/opt/splunk
APP_DIR="$SPLUNK_HOME_IN/etc/apps/winrmdetect"
# Expected score of the test event: rule winrm_remoteexec_child, impact 90 * confidence 50 / 100,
# and after the local/winrmdetect.conf override (impact 60) 60 * 50 / 100.
SCORE_DEFAULT=45
OVERRIDE_IMPACT=60
SCORE_OVERRIDE=30

CONTAINERS=()
NETWORKS=()
TMP="$(mktemp -d)"

cleanup() {
  local rc=$?
  trap - ERR
  if [[ "${KEEP_CONTAINER:-0}" == 1 ]]; then
    if ((${#CONTAINERS[@]})); then
      echo "== leaving ${CONTAINERS[*]} running (KEEP_CONTAINER=1); admin password: $PASSWORD"
    fi
  else
    teardown
  fi
  rm -rf "$TMP"
  exit "$rc"
}

teardown() {
  local c n
  for c in "${CONTAINERS[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  for n in "${NETWORKS[@]}"; do docker network rm "$n" >/dev/null 2>&1 || true; done
  CONTAINERS=()
  NETWORKS=()
}

# fail writes to fd 3, the script's own stderr, so that a FAIL: line is never lost in a
# redirection of the function that called it.
exec 3>&2
fail() {
  trap - ERR
  echo "FAIL: $*" >&3
  local c
  for c in "${CONTAINERS[@]}"; do
    echo "---- last log lines of container $c ----" >&3
    docker logs --tail 40 "$c" >&3 2>&1 || true
  done
  exit 1
}

# Any command that fails outside a condition (set -e) ends the run with a FAIL: line, never
# silently.
trap 'rc=$?; fail "unexpected failure (exit $rc) at line $LINENO: $BASH_COMMAND"' ERR
trap cleanup EXIT

# ---- the package ---------------------------------------------------------------------------

VERSION="$(awk '/^\[/{p=($0=="[package]");next} p&&$1=="version"{gsub(/[" \t]/,"");sub(/^version=/,"");print;exit}' Cargo.toml)"
TGZ="${WINRMDETECT_APP_TGZ:-$ROOT/dist/winrmdetect-$VERSION.tgz}"
if [[ ! -f "$TGZ" ]]; then
  echo "== building the app package"
  # The Linux Splunk image needs only the Linux programs.
  command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || export WINRMDETECT_BIN_WINDOWS=none
  TGZ="$(bash bin/build-app | tail -n 1)" || fail "bin/build-app failed"
fi
[[ -f "$TGZ" ]] || fail "package $TGZ not found"
TGZ="$(cd "$(dirname "$TGZ")" && pwd)/$(basename "$TGZ")"
echo "== package: $TGZ"

# ---- JSON and log checks (python3) ---------------------------------------------------------

cat >"$TMP/check.py" <<'PY'
import json, re, sys

def load(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return json.load(f)

def values(v):
    # Multivalue fields come back as JSON lists: compare by membership.
    if v is None:
        return []
    return [str(x) for x in v] if isinstance(v, list) else [str(v)]

def content(path):
    return load(path)["entry"][0]["content"]

def messages(obj):
    m = obj.get("messages") or []
    if isinstance(m, dict):  # some endpoints: {"ERROR": [...], ...} or {"type": ..., "text": ...}
        m = [m] if "type" in m else [{"type": k, "text": t} for k, ts in m.items() for t in values(ts)]
    return [x for x in m if isinstance(x, dict)]

def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "sid":
        print(load(args[0])["sid"])
    elif cmd == "get":  # get FILE KEY: a key of entry[0].content
        print(content(args[0]).get(args[1], ""))
    elif cmd == "app":
        c = content(args[0])
        print("ok: winrmdetect %s installed, disabled=%s" % (c.get("version"), c.get("disabled")))
    elif cmd == "job":  # job FILE: fail on a failed job or ERROR/FATAL messages
        c = content(args[0])
        bad = [m for m in messages(c) if str(m.get("type", "")).upper() in ("ERROR", "FATAL")]
        for m in messages(c):
            print("  job message %s: %s" % (m.get("type"), m.get("text")), file=sys.stderr)
        state = c.get("dispatchState")
        if state != "DONE" or c.get("isFailed") in (True, "1", 1) or bad:
            print("dispatchState=%s isFailed=%s" % (state, c.get("isFailed")), file=sys.stderr)
            sys.exit(1)
        print("resultCount=%s" % c.get("resultCount"))
    elif cmd == "expect":  # expect FILE field=value...: some result matches every pair
        want = [a.split("=", 1) for a in args[1:]]
        doc = load(args[0])
        for m in messages(doc):
            print("  result message %s: %s" % (m.get("type"), m.get("text")), file=sys.stderr)
        seen = []
        for r in doc.get("results", []):
            if all(v in values(r.get(k)) for k, v in want):
                print("ok: %s (%s)" % (" ".join("%s=%s" % (k, v) for k, v in want),
                                        "; ".join(values(r.get("risk_message")))))
                sys.exit(0)
            seen.append({k: r.get(k) for k in ("AlertType", "risk_score", "splunk_server", "host", "risk_message")})
        print("no result with %s; results seen: %s" % (want, seen[:20]), file=sys.stderr)
        sys.exit(1)
    elif cmd == "peers":  # peers FILE NAME HOST: a search peer named NAME (or at HOST:port) is Up
        ok = False
        for e in load(args[0]).get("entry", []):
            c = e.get("content", {})
            name, status = c.get("peerName") or "", str(c.get("status", ""))
            print("  peer %s (%s): status=%s replicationStatus=%s" % (
                name, e.get("name"), status, c.get("replicationStatus")), file=sys.stderr)
            if (name == args[1] or str(e.get("name", "")).split(":")[0] == args[2]) and status.lower() == "up":
                ok = True
        sys.exit(0 if ok else 1)
    elif cmd == "savedsearches":  # NAME<TAB>SEARCH for each saved search the app owns
        for e in load(args[0]).get("entry", []):
            if e.get("acl", {}).get("app") == "winrmdetect":
                s = e["content"].get("search", "").replace("\n", " ").replace("\t", " ").strip()
                if not (s.startswith("|") or re.match(r"search\s", s)):
                    s = "search " + s
                print("%s\t%s" % (e["name"], s))
    elif cmd == "searchlog":  # searchlog FILE: fail on ERROR lines of the chunked protocol or ours
        pat = re.compile(r"ChunkedExternProcessor|winrmdetect", re.I)
        bad = [l.rstrip() for l in open(args[0], encoding="utf-8", errors="replace")
               if re.search(r"\b(ERROR|FATAL)\b", l) and pat.search(l)]
        for l in bad[:30]:
            print("  " + l, file=sys.stderr)
        sys.exit(1 if bad else 0)
    elif cmd == "btool":  # btool FILE: errors naming our app, minus ES-only savedsearches keys
        # Enterprise Security ships the alert actions risk, notable and correlationsearch
        # (alert_actions.conf + savedsearches.conf.spec in its apps). On a search head without
        # ES, btool cannot know action.risk*, action.notable* or action.correlationsearch*
        # and reports them as invalid keys: expected, not our error.
        es_only = re.compile(r"\baction\.(risk|notable|correlationsearch)\b")
        ours, es = [], []
        for l in open(args[0], encoding="utf-8", errors="replace"):
            l = l.rstrip()
            if "winrmdetect" not in l:
                continue
            (es if es_only.search(l) else ours).append(l)
        if es:
            print("  (%d ES-only keys reported, expected without Enterprise Security)" % len(es))
        for l in ours:
            print("  " + l, file=sys.stderr)
        sys.exit(1 if ours else 0)
    else:
        sys.exit("check.py: unknown command " + cmd)

main()
PY
py() { python3 "$TMP/check.py" "$@"; }

# ---- HTTP: every request is checked ---------------------------------------------------------

# req OUT URL [curl args...]: body to OUT; fails with FAIL: on a curl error or a non-2xx status.
req() {
  local out="$1" url="$2" code
  shift 2
  code="$(curl -sSk --max-time 900 -u "admin:$PASSWORD" -o "$out" -w '%{http_code}' "$@" "$url")" \
    || fail "curl ${url%%\?*} failed (curl exit $?)"
  [[ "$code" == 2* ]] || { head -c 2000 "$out" >&2 || true; echo >&2; fail "${url%%\?*} returned HTTP $code"; }
}

# status URL [curl args...]: prints the HTTP status only (for the probes that may 404).
status() {
  local url="$1" code
  shift
  code="$(curl -sk --max-time 120 -u "admin:$PASSWORD" -o /dev/null -w '%{http_code}' "$@" "$url")" || code=000
  echo "$code"
}

# get_v2 OUT BASE PATH-AFTER-search/: the v2 job endpoint, else the v1 one (older splunkd).
get_v2() {
  local out="$1" base="$2" rest="$3" code
  code="$(curl -sSk --max-time 300 -u "admin:$PASSWORD" -o "$out" -w '%{http_code}' "$base/search/v2/$rest")" \
    || fail "curl search/v2/${rest%%\?*} failed (curl exit $?)"
  if [[ "$code" == 404 ]]; then
    req "$out" "$base/search/$rest"
  else
    [[ "$code" == 2* ]] || { head -c 2000 "$out" >&2 || true; echo >&2; fail "search/v2/${rest%%\?*} returned HTTP $code"; }
  fi
}

# ---- containers ------------------------------------------------------------------------------

# start NAME PORT [docker run args...]: one splunk/splunk container, REST on 127.0.0.1:PORT.
start() {
  local name="$1" port="$2"
  shift 2
  echo "== starting $IMAGE as $name (splunkd REST on 127.0.0.1:$port)"
  CONTAINERS+=("$name")
  docker run -d --name "$name" --platform linux/amd64 \
    -e SPLUNK_START_ARGS=--accept-license \
    -e SPLUNK_GENERAL_TERMS=--accept-sgt-current-at-splunk-com \
    -e SPLUNK_PASSWORD="$PASSWORD" \
    -p "127.0.0.1:$port:8089" \
    "$@" "$IMAGE" >/dev/null || fail "docker run $name failed"
}

# The image's HEALTHCHECK (checkstate.sh) turns healthy once the ansible provisioning is done.
wait_healthy() {
  local name state deadline
  for name in "$@"; do
    echo "== waiting for $name to become healthy (up to ${WAIT_SECS}s)"
    deadline=$((SECONDS + WAIT_SECS))
    while :; do
      state="$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$name" 2>/dev/null || echo gone)"
      case "$state" in
        "running healthy") break ;;
        running*) ;;
        *) fail "container $name is not running ($state)" ;;
      esac
      ((SECONDS < deadline)) || fail "container $name not healthy after ${WAIT_SECS}s ($state)"
      sleep 10
    done
  done
}

server_name() { # server_name BASE: serverName from /services/server/info
  req "$TMP/info.json" "$1/services/server/info?output_mode=json"
  py get "$TMP/info.json" serverName
}

# ---- searches --------------------------------------------------------------------------------

# job TAG BASE SPL [EARLIEST]: runs SPL as a blocking job in the winrmdetect app's namespace
# (so app-private macros resolve as in the app's own saved searches); leaves the job entry, the
# results and the job's search.log in $TMP/TAG.{job.json,results.json,search.log} and sets SID.
# Returns 1 (reasons on stderr) on a failed job, ERROR/FATAL job messages (peers' errors arrive
# there too) or ERROR lines of ChunkedExternProcessor / winrmdetect in the search head's
# search.log; HTTP and curl failures end the run (FAIL:) at once.
SID=""
job() {
  local tag="$1" base="$2" spl="$3" earliest="${4:-0}" ns
  ns="$base/servicesNS/admin/winrmdetect"
  req "$TMP/$tag.create.json" "$ns/search/v2/jobs" \
    -d exec_mode=blocking -d output_mode=json \
    --data-urlencode "search=$spl" -d earliest_time="$earliest" -d latest_time=now
  SID="$(py sid "$TMP/$tag.create.json")" || fail "$tag: no sid in the job creation reply"
  get_v2 "$TMP/$tag.job.json" "$ns" "jobs/$SID?output_mode=json"
  get_v2 "$TMP/$tag.results.json" "$ns" "jobs/$SID/results?output_mode=json&count=0"
  get_v2 "$TMP/$tag.search.log" "$ns" "jobs/$SID/search.log"
  if ! py job "$TMP/$tag.job.json" >/dev/null; then
    echo "$tag (sid $SID): the job failed or has ERROR messages: $spl" >&2
    return 1
  fi
  if ! py searchlog "$TMP/$tag.search.log"; then
    echo "$tag (sid $SID): ERROR lines from ChunkedExternProcessor/winrmdetect in the search head's search.log" >&2
    return 1
  fi
}

# job_ok TAG BASE SPL [EARLIEST]: job, and any problem ends the run.
job_ok() {
  job "$@" || fail "$1: see above"
}

# expect TAG field=value...: the job's results hold one row matching every pair (multivalue-safe).
expect() {
  local tag="$1"
  shift
  py expect "$TMP/$tag.results.json" "$@"
}

# send_event BASE HOST: one Sysmon 1 event (wsmprovhost.exe -> cmd.exe) through receivers/simple.
# It is one line with single-quoted attributes. Its TimeCreated lies beyond the default
# MAX_TIMESTAMP_LOOKAHEAD (128 characters) and stock Splunk has no props for XmlWinEventLog, so
# _time is the index time: the searches below run over all time (earliest_time=0).
send_event() {
  local base="$1" host="$2" event
  event="<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385f-c22a-43e0-bf4c-06f5698ffbd9}'/><EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)'/><EventRecordID>4242</EventRecordID><Correlation/><Execution ProcessID='2400' ThreadID='3100'/><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>$host.corp.local</Computer><Security UserID='S-1-5-18'/></System><EventData><Data Name='RuleName'>-</Data><Data Name='UtcTime'>2024-01-01 00:00:00.000</Data><Data Name='ProcessGuid'>{00000000-0000-0000-0000-000000000001}</Data><Data Name='ProcessId'>4711</Data><Data Name='Image'>C:\\Windows\\System32\\cmd.exe</Data><Data Name='CommandLine'>cmd.exe /c whoami</Data><Data Name='User'>CORP\\alice</Data><Data Name='LogonId'>0x3a2f1</Data><Data Name='ParentProcessId'>3920</Data><Data Name='ParentImage'>C:\\Windows\\System32\\wsmprovhost.exe</Data><Data Name='ParentCommandLine'>C:\\Windows\\system32\\wsmprovhost.exe -Embedding</Data></EventData></Event>"
  req "$TMP/receivers.out" \
    "$base/services/receivers/simple?index=main&sourcetype=XmlWinEventLog&source=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational&host=$host" \
    --data-binary "$event"
  echo "ok: receivers/simple accepted the $host event"
}

# retry_search TAG BASE SPL field=value...: the indexed event needs a few seconds to become
# searchable (and, distributed, the first bundle to reach the peer): up to 2 minutes.
retry_search() {
  local tag="$1" base="$2" spl="$3"
  shift 3
  for _ in $(seq 1 24); do
    if job "$tag" "$base" "$spl" 2>"$TMP/$tag.err" && expect "$tag" "$@" 2>>"$TMP/$tag.err"; then
      return 0
    fi
    sleep 5
  done
  cat "$TMP/$tag.err" >&2 || true
  fail "$tag: no result with $* after 2 minutes of retries: $spl"
}

SPL_MAKERESULTS='| makeresults | eval EventCode=1, ParentImage="C:\\Windows\\System32\\wsmprovhost.exe", Image="C:\\Windows\\System32\\cmd.exe", Computer="SRV02", source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" | winrmdetect'
spl_indexed() { echo "search index=main host=$1 \`winrmdetect_sources\` | winrmdetect alerts_only=true"; }

# ---- checks shared by both topologies (on the container that has the app) --------------------

app_checks() {
  local name="$1" base="$2"
  echo "== app installed on $name?"
  req "$TMP/app.json" "$base/services/apps/local/winrmdetect?output_mode=json"
  py app "$TMP/app.json" || fail "app winrmdetect is not installed on $name"
  docker exec -u splunk "$name" "$SPLUNK_HOME_IN/bin/splunk" btool commands list winrmdetect --debug \
    || fail "btool does not see [winrmdetect] in commands.conf on $name"

  echo "== splunk btool check --app=winrmdetect on $name"
  # btool check's exit status does not tell our app's problems from the rest of the instance's:
  # its output is classified instead (lines naming winrmdetect; ES-only keys tolerated).
  docker exec -u splunk "$name" "$SPLUNK_HOME_IN/bin/splunk" btool check --app=winrmdetect >"$TMP/btool.out" 2>&1 \
    || echo "  (btool check exited $?; judging by its output)"
  head -n 60 "$TMP/btool.out" | sed 's/^/  | /'
  py btool "$TMP/btool.out" || fail "btool check reports errors in the winrmdetect app on $name"
  echo "ok: btool check: no errors of ours"

  echo "== modular input evtx_input: --scheme and --validate-arguments on $name"
  local prog="$APP_DIR/linux_x86_64/bin/evtx_input"
  docker exec -u splunk "$name" "$SPLUNK_HOME_IN/bin/splunk" cmd "$prog" --scheme >"$TMP/scheme.xml" \
    || fail "evtx_input --scheme failed on $name"
  grep -q '<scheme>' "$TMP/scheme.xml" || fail "evtx_input --scheme printed no <scheme>"
  items() { printf "<items><server_host>%s</server_host><session_key>x</session_key><checkpoint_dir>/tmp/cp</checkpoint_dir><item name='docker_it'><param name='path'>%s</param></item></items>" "$name" "$1"; }
  items "$APP_DIR" | docker exec -i -u splunk "$name" "$SPLUNK_HOME_IN/bin/splunk" cmd "$prog" --validate-arguments \
    || fail "evtx_input --validate-arguments rejected an existing directory"
  if items /nonexistent/none.evtx \
    | docker exec -i -u splunk "$name" "$SPLUNK_HOME_IN/bin/splunk" cmd "$prog" --validate-arguments >"$TMP/validate.out"; then
    fail "evtx_input --validate-arguments accepted a missing file"
  fi
  grep -q '<error>' "$TMP/validate.out" || fail "evtx_input --validate-arguments gave no <error> for a missing file"
  echo "ok: evtx_input scheme and validation"
}

# Every saved search of the app, run ad hoc over all time (they ship disabled, and their risk
# action needs ES): proves each one's SPL and macros expand and the command runs without errors.
saved_searches() {
  local base="$1" name spl n=0
  echo "== the app's saved searches, run ad hoc"
  req "$TMP/saved.json" "$base/servicesNS/-/winrmdetect/saved/searches?output_mode=json&count=0"
  py savedsearches "$TMP/saved.json" >"$TMP/saved.tsv"
  while IFS=$'\t' read -r name spl; do
    n=$((n + 1))
    job_ok "saved$n" "$base" "$spl"
    echo "ok: $name"
  done <"$TMP/saved.tsv"
  ((n > 0)) || fail "no saved searches found in the winrmdetect app"
}

# ---- standalone --------------------------------------------------------------------------------

run_standalone() {
  local so="$PREFIX-so" base="https://127.0.0.1:$SO_PORT"
  echo "==== standalone"
  start "$so" "$SO_PORT" -e SPLUNK_ROLE=splunk_standalone \
    -e SPLUNK_APPS_URL=/tmp/winrmdetect.tgz -v "$TGZ:/tmp/winrmdetect.tgz:ro"
  wait_healthy "$so"
  local so_name
  so_name="$(server_name "$base")"
  echo "ok: splunkd $so_name is up"
  app_checks "$so" "$base"

  echo "== search 1: makeresults through | winrmdetect"
  job_ok s1 "$base" "$SPL_MAKERESULTS"
  expect s1 AlertType=WinRM_RemoteExec_Child risk_score=$SCORE_DEFAULT \
    || fail "search 1 did not label WinRM_RemoteExec_Child with risk_score $SCORE_DEFAULT"

  echo "== search 2: an indexed XmlWinEventLog event via /services/receivers/simple"
  send_event "$base" SRV03
  retry_search s2 "$base" "$(spl_indexed SRV03)" AlertType=WinRM_RemoteExec_Child risk_score=$SCORE_DEFAULT

  saved_searches "$base"
  # In "all", the standalone container goes before the two distributed ones start (memory);
  # otherwise the EXIT trap removes it (or KEEP_CONTAINER=1 keeps it).
  if [[ "$MODE" == all ]]; then teardown; fi
  echo "PASSED: standalone"
}

# ---- search head + indexer ----------------------------------------------------------------------

# newest_bundle IDX: the newest knowledge bundle directory the peer extracted.
newest_bundle() {
  docker exec -u splunk "$1" sh -c 'ls -1dt '"$SPLUNK_HOME_IN"'/var/run/searchpeers/*/ 2>/dev/null | head -n 1'
}

run_distributed() {
  local net="$PREFIX-net" sh="$PREFIX-sh1" idx="$PREFIX-idx1"
  local sh_base="https://127.0.0.1:$SH_PORT" idx_base="https://127.0.0.1:$IDX_PORT"
  local topo=(-e SPLUNK_SEARCH_HEAD_URL=sh1 -e SPLUNK_INDEXER_URL=idx1)
  echo "==== distributed: search head sh1 + indexer idx1"
  docker network create "$net" >/dev/null || fail "docker network create $net failed"
  NETWORKS+=("$net")
  # Hostname and network alias are the names SPLUNK_*_URL use (test_scenarios/2idx2sh.yaml).
  start "$idx" "$IDX_PORT" --hostname idx1 --network "$net" --network-alias idx1 \
    -e SPLUNK_ROLE=splunk_indexer "${topo[@]}"
  start "$sh" "$SH_PORT" --hostname sh1 --network "$net" --network-alias sh1 \
    -e SPLUNK_ROLE=splunk_search_head "${topo[@]}" \
    -e SPLUNK_APPS_URL=/tmp/winrmdetect.tgz -v "$TGZ:/tmp/winrmdetect.tgz:ro"
  wait_healthy "$idx" "$sh"
  local sh_name idx_name
  sh_name="$(server_name "$sh_base")"
  idx_name="$(server_name "$idx_base")"
  echo "ok: search head $sh_name and indexer $idx_name are up"

  echo "== the indexer has no app of its own"
  [[ "$(status "$idx_base/services/apps/local/winrmdetect")" == 404 ]] \
    || fail "winrmdetect is installed on the indexer: this run must get it there through the knowledge bundle only"
  echo "ok: not installed on $idx_name"

  echo "== $idx_name is a search peer of $sh_name (search/distributed/peers)"
  local deadline=$((SECONDS + 300))
  until req "$TMP/peers.json" "$sh_base/services/search/distributed/peers?output_mode=json&count=0" \
    && py peers "$TMP/peers.json" "$idx_name" idx1 2>"$TMP/peers.err"; do
    ((SECONDS < deadline)) || { cat "$TMP/peers.err" >&2 || true; fail "$idx_name is not an Up search peer of $sh_name after 300s"; }
    sleep 10
  done
  cat "$TMP/peers.err"
  echo "ok: $idx_name is an Up search peer"

  app_checks "$sh" "$sh_base"

  echo "== search D1: event on the indexer, searched from the search head"
  send_event "$idx_base" SRV04
  retry_search d1 "$sh_base" "$(spl_indexed SRV04)" \
    AlertType=WinRM_RemoteExec_Child risk_score=$SCORE_DEFAULT splunk_server="$idx_name"
  local sid="$SID"

  echo "== D1 ran the streaming command on the peer"
  # 1. The search head's plan: the part sent to peers (the job's remoteSearch) holds winrmdetect.
  local remote
  remote="$(py get "$TMP/d1.job.json" remoteSearch)"
  echo "  remoteSearch: $remote"
  [[ "$remote" == *winrmdetect* ]] \
    || fail "winrmdetect is not in the job's remoteSearch: splunkd ran it on the search head, not on the peer"
  # 2. The peer's own artifact of this job (dispatch/remote_<search head>_<sid>, kept
  #    limits.conf [search] remote_ttl seconds, default 600) with its search.log.
  local pdir
  pdir="$(docker exec -u splunk "$idx" sh -c 'for d in "$0"/var/run/splunk/dispatch/*; do case "$d" in *"$1"*) echo "$d"; break;; esac; done' "$SPLUNK_HOME_IN" "$sid")"
  [[ -n "$pdir" ]] || {
    docker exec -u splunk "$idx" ls "$SPLUNK_HOME_IN/var/run/splunk/dispatch" >&2 || true
    fail "no dispatch directory for sid $sid on $idx_name: the peer did not run the search"
  }
  docker exec -u splunk "$idx" cat "$pdir/search.log" >"$TMP/d1.peer.search.log" \
    || fail "cannot read $pdir/search.log on $idx_name"
  grep -q winrmdetect "$TMP/d1.peer.search.log" || fail "the peer's search.log ($pdir) never mentions winrmdetect"
  echo "  peer ChunkedExternProcessor lines: $(grep -c ChunkedExternProcessor "$TMP/d1.peer.search.log" || true)"
  grep -m 3 ChunkedExternProcessor "$TMP/d1.peer.search.log" | sed 's/^/  | /' || true
  py searchlog "$TMP/d1.peer.search.log" \
    || fail "ERROR lines from ChunkedExternProcessor/winrmdetect in the peer's search.log ($pdir)"
  echo "ok: $idx_name ran it ($pdir), results carry splunk_server=$idx_name, no errors on either side"

  echo "== the knowledge bundle on the peer"
  local bundle
  bundle="$(newest_bundle "$idx")"
  [[ -n "$bundle" ]] || fail "no extracted knowledge bundle under var/run/searchpeers on $idx_name"
  local papp="${bundle%/}/apps/winrmdetect"
  docker exec -u splunk "$idx" test -x "$papp/linux_x86_64/bin/winrmdetect" \
    || fail "$papp/linux_x86_64/bin/winrmdetect missing or not executable on the peer"
  docker exec -u splunk "$idx" test -f "$papp/default/winrmdetect.conf" \
    || fail "$papp/default/winrmdetect.conf did not replicate (distsearch.conf refineConf)"
  local f
  for f in linux_x86_64/bin/evtx_input windows_x86_64/bin/winrmdetect.exe windows_x86_64/bin/evtx_input.exe; do
    if docker exec -u splunk "$idx" test -e "$papp/$f"; then
      fail "$f is in the knowledge bundle; only the Linux command binary should replicate"
    fi
  done
  echo "ok: $papp has the executable command and winrmdetect.conf, no evtx_input or Windows binaries"

  echo "== local/winrmdetect.conf on the search head reaches the peer"
  # Through splunkd's conf REST (it writes $APP_DIR/local/winrmdetect.conf) so splunkd knows the
  # conf changed; docker exec writes the same file if that endpoint refuses a custom conf type.
  local code
  code="$(status "$sh_base/servicesNS/nobody/winrmdetect/configs/conf-winrmdetect/winrm_remoteexec_child" -d impact=$OVERRIDE_IMPACT)"
  if [[ "$code" != 2* ]]; then
    echo "  configs/conf-winrmdetect returned HTTP $code; writing local/winrmdetect.conf with docker exec"
    docker exec -u splunk "$sh" sh -c 'mkdir -p "$0/local" && printf "[winrm_remoteexec_child]\nimpact = %s\n" "$1" >>"$0/local/winrmdetect.conf"' "$APP_DIR" "$OVERRIDE_IMPACT" \
      || fail "cannot write local/winrmdetect.conf on the search head"
  fi
  docker exec -u splunk "$sh" cat "$APP_DIR/local/winrmdetect.conf" >"$TMP/local.conf" \
    || fail "no $APP_DIR/local/winrmdetect.conf on the search head"
  grep -q "impact *= *$OVERRIDE_IMPACT" "$TMP/local.conf" || fail "local/winrmdetect.conf lacks impact = $OVERRIDE_IMPACT"
  # The search head replicates a changed bundle in the background or when it dispatches a
  # search (DistSearch manual, "What search heads send to search peers"): the retried search
  # below both triggers and waits for it.
  job_ok d2sh "$sh_base" "$SPL_MAKERESULTS"
  expect d2sh AlertType=WinRM_RemoteExec_Child risk_score=$SCORE_OVERRIDE \
    || fail "the override does not take effect on the search head itself (makeresults)"
  retry_search d2 "$sh_base" "$(spl_indexed SRV04)" \
    AlertType=WinRM_RemoteExec_Child risk_score=$SCORE_OVERRIDE splunk_server="$idx_name"
  remote="$(py get "$TMP/d2.job.json" remoteSearch)"
  [[ "$remote" == *winrmdetect* ]] || fail "D2: winrmdetect is not in the job's remoteSearch"
  bundle="$(newest_bundle "$idx")"
  docker exec -u splunk "$idx" cat "${bundle%/}/apps/winrmdetect/local/winrmdetect.conf" >"$TMP/peer.local.conf" \
    || fail "the peer's newest bundle ($bundle) has no apps/winrmdetect/local/winrmdetect.conf"
  grep -q "impact *= *$OVERRIDE_IMPACT" "$TMP/peer.local.conf" || fail "the peer's local/winrmdetect.conf lacks the override"
  echo "ok: the peer scores $SCORE_OVERRIDE with the replicated local/winrmdetect.conf (${bundle%/})"

  saved_searches "$sh_base"
  echo "PASSED: distributed"
}

case "$MODE" in
  standalone) run_standalone ;;
  distributed) run_distributed ;;
  all)
    run_standalone
    run_distributed
    ;;
esac
echo "PASSED: Docker integration test ($MODE)"
