#!/usr/bin/env bash
# Opt-in integration test of the packaged app in the official splunk/splunk
# Docker image. NOT run by bin/test. See tests/docker/README.md.
#
#   bash tests/docker/run.sh
#
# Environment:
#   WINRMDETECT_APP_TGZ  package to install (default: dist/winrmdetect-<version>.tgz,
#                        built with bin/build-app if missing)
#   SPLUNK_IMAGE         image (default splunk/splunk:latest)
#   SPLUNK_PASSWORD      admin password (default: generated)
#   SPLUNK_MGMT_PORT     host port bound to 127.0.0.1 for splunkd's 8089 (default 18089)
#   SPLUNK_WAIT_SECS     how long to wait for the container to become healthy (default 900)
#   KEEP_CONTAINER=1     leave the container running afterwards (for debugging)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

if ! docker info >/dev/null 2>&1; then
  echo "SKIPPED: Docker engine not available; this opt-in test needs Docker"
  exit 0
fi
for tool in curl python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool is required" >&2; exit 1; }
done

IMAGE="${SPLUNK_IMAGE:-splunk/splunk:latest}"
PASSWORD="${SPLUNK_PASSWORD:-Wrd-it-$(date +%s)-$RANDOM}"
PORT="${SPLUNK_MGMT_PORT:-18089}"
WAIT_SECS="${SPLUNK_WAIT_SECS:-900}"
NAME="winrmdetect-it-$$"
BASE="https://127.0.0.1:$PORT"

VERSION="$(awk '/^\[/{p=($0=="[package]");next} p&&$1=="version"{gsub(/[" \t]/,"");sub(/^version=/,"");print;exit}' Cargo.toml)"
TGZ="${WINRMDETECT_APP_TGZ:-$ROOT/dist/winrmdetect-$VERSION.tgz}"
if [[ ! -f "$TGZ" ]]; then
  echo "== building the app package"
  # The Linux Splunk image needs only the Linux programs.
  command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || export WINRMDETECT_BIN_WINDOWS=none
  TGZ="$(bash bin/build-app | tail -n 1)"
fi
TGZ="$(cd "$(dirname "$TGZ")" && pwd)/$(basename "$TGZ")"
echo "== package: $TGZ"

cleanup() {
  local rc=$?
  if [[ "${KEEP_CONTAINER:-0}" == 1 ]]; then
    echo "== leaving container $NAME running (KEEP_CONTAINER=1); admin password: $PASSWORD"
  else
    docker rm -f "$NAME" >/dev/null 2>&1 || true
  fi
  exit "$rc"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "---- last container log lines ----" >&2
  docker logs --tail 60 "$NAME" >&2 || true
  exit 1
}

echo "== starting $IMAGE as $NAME (splunkd REST on 127.0.0.1:$PORT)"
docker run -d --name "$NAME" --platform linux/amd64 \
  -e SPLUNK_START_ARGS=--accept-license \
  -e SPLUNK_GENERAL_TERMS=--accept-sgt-current-at-splunk-com \
  -e SPLUNK_PASSWORD="$PASSWORD" \
  -e SPLUNK_APPS_URL=/tmp/winrmdetect.tgz \
  -v "$TGZ:/tmp/winrmdetect.tgz:ro" \
  -p "127.0.0.1:$PORT:8089" \
  "$IMAGE" >/dev/null

echo "== waiting for the container to become healthy (up to ${WAIT_SECS}s)"
deadline=$((SECONDS + WAIT_SECS))
while :; do
  state="$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$NAME" 2>/dev/null || echo gone)"
  case "$state" in
    "running healthy") break ;;
    running*) ;;
    *) fail "container is not running ($state)" ;;
  esac
  ((SECONDS < deadline)) || fail "container not healthy after ${WAIT_SECS}s ($state)"
  sleep 10
done
code="$(curl -sk -o /dev/null -w '%{http_code}' -u "admin:$PASSWORD" "$BASE/services/server/info")"
[[ "$code" == 200 ]] || fail "GET /services/server/info returned $code"
echo "ok: splunkd is up"

rest() { curl -sSk -u "admin:$PASSWORD" "$@"; }

# Runs one search through the export endpoint; prints the JSON-lines stream.
search() {
  rest "$BASE/services/search/v2/jobs/export" \
    --data-urlencode "search=$1" \
    -d output_mode=json -d earliest_time="${2:-0}" -d latest_time=now
}

# Reads the export stream on stdin; succeeds if a result has AlertType=$1 and risk_score=$2.
expect_alert() {
  python3 -c '
import json, sys
want_type, want_score = sys.argv[1], sys.argv[2]
seen = []
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    try:
        obj = json.loads(line)
    except ValueError:
        print("non-JSON line: " + line[:300], file=sys.stderr)
        continue
    for m in obj.get("messages", []) or []:
        print("message: %s" % m, file=sys.stderr)
    r = obj.get("result")
    if r:
        seen.append({k: r.get(k) for k in ("AlertType", "risk_score", "risk_message", "host")})
        if r.get("AlertType") == want_type and str(r.get("risk_score")) == want_score:
            print("ok: %s risk_score=%s: %s" % (want_type, want_score, r.get("risk_message")))
            sys.exit(0)
print("results seen: %s" % seen, file=sys.stderr)
sys.exit(1)
' "$1" "$2"
}

echo "== app installed?"
rest "$BASE/services/apps/local/winrmdetect?output_mode=json" | python3 -c '
import json, sys
e = json.load(sys.stdin)["entry"][0]["content"]
print("ok: winrmdetect %s installed, disabled=%s" % (e.get("version"), e.get("disabled")))
' || fail "app winrmdetect is not installed"
docker exec -u splunk "$NAME" /opt/splunk/bin/splunk btool commands list winrmdetect --debug \
  || fail "btool does not see [winrmdetect] in commands.conf"

echo "== search 1: makeresults through | winrmdetect"
SPL1='| makeresults | eval EventCode=1, ParentImage="C:\\Windows\\System32\\wsmprovhost.exe", Image="C:\\Windows\\System32\\cmd.exe", Computer="SRV02", source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" | winrmdetect'
search "$SPL1" | expect_alert WinRM_RemoteExec_Child 45 || fail "search 1 did not label WinRM_RemoteExec_Child with risk_score 45"

echo "== search 2: an indexed XmlWinEventLog event via /services/receivers/simple"
EVENT="<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385f-c22a-43e0-bf4c-06f5698ffbd9}'/><EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)'/><EventRecordID>4242</EventRecordID><Correlation/><Execution ProcessID='2400' ThreadID='3100'/><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>SRV03.corp.local</Computer><Security UserID='S-1-5-18'/></System><EventData><Data Name='RuleName'>-</Data><Data Name='UtcTime'>2024-01-01 00:00:00.000</Data><Data Name='ProcessGuid'>{00000000-0000-0000-0000-000000000001}</Data><Data Name='ProcessId'>4711</Data><Data Name='Image'>C:\\Windows\\System32\\cmd.exe</Data><Data Name='CommandLine'>cmd.exe /c whoami</Data><Data Name='User'>CORP\\alice</Data><Data Name='LogonId'>0x3a2f1</Data><Data Name='ParentProcessId'>3920</Data><Data Name='ParentImage'>C:\\Windows\\System32\\wsmprovhost.exe</Data><Data Name='ParentCommandLine'>C:\\Windows\\system32\\wsmprovhost.exe -Embedding</Data></EventData></Event>"
rest -o /dev/null -w '%{http_code}\n' \
  "$BASE/services/receivers/simple?index=main&sourcetype=XmlWinEventLog&source=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational&host=SRV03" \
  --data-binary "$EVENT"
SPL2='search `sysmon` index=main host=SRV03 | winrmdetect alerts_only=true'
ok=0
for _ in $(seq 1 12); do
  if search "$SPL2" | expect_alert WinRM_RemoteExec_Child 45; then ok=1; break; fi
  sleep 5
done
((ok)) || fail "search 2 (indexed event, sysmon macro) did not produce WinRM_RemoteExec_Child"

echo "== search 3: no ChunkedExternProcessor errors in splunkd.log"
n="$(search 'search index=_internal ChunkedExternProcessor log_level=ERROR | stats count' -24h | python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    line = line.strip()
    if line:
        r = json.loads(line).get("result")
        if r and "count" in r:
            n = int(r["count"])
print(n)
')"
if [[ "$n" != 0 ]]; then
  search 'search index=_internal ChunkedExternProcessor log_level=ERROR | head 20 | table _raw' -24h >&2 || true
  fail "$n ChunkedExternProcessor ERROR lines in _internal"
fi
echo "ok: no ChunkedExternProcessor errors"

echo "PASSED: Docker integration test"
