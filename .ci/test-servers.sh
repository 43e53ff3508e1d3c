#!/usr/bin/env bash
# Real object stores on loopback for tests/it/object_stores.rs:
#   - s3s-fs (crates.io): an S3-compatible server on the file system that verifies SigV4
#     request signatures against a fixed access key / secret key;
#   - Azurite (npm): Microsoft's Azure Blob Storage emulator (shared-key auth, the
#     well-known devstoreaccount1 account).
#
# Usage:
#   .ci/test-servers.sh install   # idempotent; builds/installs into $SVNA_TEST_TOOLS
#   eval "$(.ci/test-servers.sh start)"   # starts both, prints `export ...` lines on stdout
#   .ci/test-servers.sh env       # prints the `export ...` lines of the running servers again
#   .ci/test-servers.sh stop
#
# Everything but the `export` lines goes to stderr, so `eval "$(... start)"` is safe.
# Knobs (environment): SVNA_TEST_TOOLS (install dir, default ~/.cache/svna-test-servers),
# SVNA_TEST_STATE (data, logs, pids; default ${TMPDIR:-/tmp}/svna-test-servers),
# SVNA_S3_PORT / SVNA_AZURITE_PORT (default: a free port each), SVNA_SERVER_WAIT (seconds, 60).
set -euo pipefail

S3S_FS_VERSION=0.14.1    # 0.15+ needs a newer Rust than the project's toolchain (0.17: 1.96)
AZURITE_VERSION=3.35.0

TOOLS=${SVNA_TEST_TOOLS:-${HOME:-/root}/.cache/svna-test-servers}
STATE=${SVNA_TEST_STATE:-${TMPDIR:-/tmp}/svna-test-servers}
WAIT=${SVNA_SERVER_WAIT:-60}

S3S_BIN=$TOOLS/cargo/bin/s3s-fs
AZURITE_BIN=$TOOLS/npm/node_modules/.bin/azurite-blob

BUCKET=svna-test
CONTAINER=svna-test
S3_ACCESS_KEY=svna-test-access-key
S3_SECRET_KEY=svna-test-secret-key-do-not-use-elsewhere
S3_REGION=us-east-1
# Azurite's built-in development account (public, documented, emulator-only).
AZ_ACCOUNT=devstoreaccount1
AZ_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

log() { printf 'test-servers: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed ($2)"; }

install_s3s() {
    if [[ -x $S3S_BIN ]] && "$S3S_BIN" --version 2>/dev/null | grep -q "$S3S_FS_VERSION"; then
        log "s3s-fs $S3S_FS_VERSION already installed ($S3S_BIN)"
        return
    fi
    need cargo "the Rust toolchain is needed to build s3s-fs"
    log "building s3s-fs $S3S_FS_VERSION from crates.io (a few minutes on 2 cores)..."
    local start=$SECONDS
    # Its own target dir: never touch the workspace's. --locked: the crate's own lock file.
    cargo install s3s-fs --version "=$S3S_FS_VERSION" --features binary --locked \
        --root "$TOOLS/cargo" --target-dir "$TOOLS/cargo-build" >&2 \
        || die "cargo install s3s-fs failed"
    rm -rf "$TOOLS/cargo-build"
    log "s3s-fs installed in $((SECONDS - start))s"
}

install_azurite() {
    if [[ -x $AZURITE_BIN ]] && grep -q "\"version\": \"$AZURITE_VERSION\"" \
        "$TOOLS/npm/node_modules/azurite/package.json" 2>/dev/null; then
        log "azurite $AZURITE_VERSION already installed ($AZURITE_BIN)"
        return
    fi
    need node "Azurite runs on Node.js (apt-get install nodejs npm)"
    need npm "Azurite comes from the npm registry (apt-get install npm)"
    log "installing azurite $AZURITE_VERSION from npm..."
    local start=$SECONDS
    mkdir -p "$TOOLS/npm"
    npm install --prefix "$TOOLS/npm" --no-audit --no-fund --loglevel=error \
        "azurite@$AZURITE_VERSION" >&2 || die "npm install azurite failed"
    log "azurite installed in $((SECONDS - start))s"
}

cmd_install() {
    mkdir -p "$TOOLS"
    install_azurite
    install_s3s
}

# A free TCP port on 127.0.0.1 (the OS picks; the tiny race before the server binds is
# acceptable for a test rig, and the port can be pinned with SVNA_*_PORT).
free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

# Is the process recorded in pid file $1 alive and still the one we started ($2 in its cmdline)?
alive() {
    local pidfile=$1 pattern=$2 pid
    [[ -f $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Ready only once *our* process logged that it bound the port (another process on the same
# port must not pass for it), and the port answers.
s3s_ready() { grep -q "server is running at http://127.0.0.1:$1" "$STATE/s3s-fs.log" && port_open "$1"; }
azurite_ready() {
    grep -q "successfully listens on http://127.0.0.1:$1" "$STATE/azurite.log" \
        && create_container "http://127.0.0.1:$1"
}

# wait_for NAME PIDFILE PATTERN LOG CHECK-COMMAND...: retries the check until it succeeds;
# exit status 2 from the check is final (the server answered but refused).
wait_for() {
    local name=$1 pidfile=$2 pattern=$3 logfile=$4
    shift 4
    local deadline=$((SECONDS + WAIT)) rc
    while true; do
        rc=0
        "$@" || rc=$?
        ((rc == 0)) && return 0
        if ((rc == 2)); then
            log "$name answered but refused set-up; last lines of $logfile:"
            tail -n 30 "$logfile" >&2 || true
            die "$name set-up failed"
        fi
        if ! alive "$pidfile" "$pattern"; then
            log "$name exited during start-up; last lines of $logfile:"
            tail -n 30 "$logfile" >&2 || true
            die "$name did not start"
        fi
        if ((SECONDS >= deadline)); then
            log "$name did not answer within ${WAIT}s; last lines of $logfile:"
            tail -n 30 "$logfile" >&2 || true
            die "$name did not start"
        fi
        sleep 0.5
    done
}

# Creates the Azurite container with a shared-key signed request (201 created, or 409 if it
# exists). Exits non-zero while Azurite is not answering yet, so it doubles as the readiness
# check.
create_container() {
    node - "$1" "$AZ_ACCOUNT" "$AZ_KEY" "$CONTAINER" <<'JS' 2>>"$STATE/azurite.log"
const http = require("http"), crypto = require("crypto");
const [endpoint, account, key, container] = process.argv.slice(2);
const url = new URL(`${endpoint}/${account}/${container}?restype=container`);
const date = new Date().toUTCString(), version = "2021-08-06";
// Blob service SharedKey: VERB, 11 standard headers (all empty here), x-ms-* headers, resource.
const toSign = "PUT\n" + "\n".repeat(11) + `x-ms-date:${date}\nx-ms-version:${version}\n` +
  `/${account}${url.pathname}\nrestype:container`;
const sig = crypto.createHmac("sha256", Buffer.from(key, "base64")).update(toSign, "utf8").digest("base64");
const req = http.request(url, { method: "PUT", timeout: 5000, headers: {
  "x-ms-date": date, "x-ms-version": version, "Content-Length": "0",
  Authorization: `SharedKey ${account}:${sig}` } }, (res) => {
  let body = ""; res.on("data", (d) => (body += d));
  res.on("end", () => {
    if (res.statusCode === 201 || res.statusCode === 409) process.exit(0);
    console.error(`creating container ${container}: HTTP ${res.statusCode} ${body}`);
    process.exit(2);
  });
});
req.on("timeout", () => req.destroy(new Error("timeout")));
req.on("error", () => process.exit(1));
req.end();
JS
}

print_env() {
    local s3_port az_port
    [[ -f $STATE/ports ]] || die "no servers recorded in $STATE (run start first)"
    read -r s3_port az_port <"$STATE/ports"
    # object_store 0.13 reads AWS_ENDPOINT_URL or AWS_ENDPOINT (same key), path-style by
    # default; Azure's emulator mode takes its endpoint from AZURITE_BLOB_STORAGE_URL.
    cat <<EOF
export SVNA_TEST_S3_URL='s3://$BUCKET/ci'
export AWS_ACCESS_KEY_ID='$S3_ACCESS_KEY'
export AWS_SECRET_ACCESS_KEY='$S3_SECRET_KEY'
export AWS_ENDPOINT_URL='http://127.0.0.1:$s3_port'
export AWS_ALLOW_HTTP=true
export AWS_REGION='$S3_REGION'
export SVNA_TEST_AZURE_URL='az://$CONTAINER/ci'
export AZURE_STORAGE_USE_EMULATOR=true
export AZURE_STORAGE_ACCOUNT_NAME='$AZ_ACCOUNT'
export AZURE_STORAGE_ACCOUNT_KEY='$AZ_KEY'
export AZURITE_BLOB_STORAGE_URL='http://127.0.0.1:$az_port'
EOF
}

cmd_start() {
    [[ -x $S3S_BIN ]] || die "s3s-fs is not installed in $TOOLS (run: $0 install)"
    [[ -x $AZURITE_BIN ]] || die "azurite is not installed in $TOOLS (run: $0 install)"
    need node "Azurite runs on Node.js"
    if [[ -d $STATE ]]; then
        cmd_stop
    fi
    rm -rf "$STATE"
    mkdir -p "$STATE/s3" "$STATE/azurite"
    # s3s-fs serves each top-level directory of its root as a bucket.
    mkdir -p "$STATE/s3/$BUCKET"

    # A failed start leaves nothing running behind it.
    trap 'rc=$?; if ((rc != 0)); then cmd_stop; fi' EXIT

    local s3_port=${SVNA_S3_PORT:-$(free_port)} az_port=${SVNA_AZURITE_PORT:-$(free_port)}
    [[ $s3_port != "$az_port" ]] || az_port=$(free_port)
    echo "$s3_port $az_port" >"$STATE/ports"

    log "starting s3s-fs on 127.0.0.1:$s3_port (bucket $BUCKET)"
    # s3s_fs=info is needed: start-up waits for its "server is running" line.
    RUST_LOG="s3s_fs=info,${SVNA_S3S_LOG:-s3s=warn}" NO_COLOR=1 "$S3S_BIN" --host 127.0.0.1 --port "$s3_port" \
        --access-key "$S3_ACCESS_KEY" --secret-key "$S3_SECRET_KEY" "$STATE/s3/" \
        </dev/null >"$STATE/s3s-fs.log" 2>&1 &
    echo $! >"$STATE/s3s-fs.pid"

    log "starting azurite-blob on 127.0.0.1:$az_port (container $CONTAINER)"
    "$AZURITE_BIN" --blobHost 127.0.0.1 --blobPort "$az_port" --location "$STATE/azurite" \
        --skipApiVersionCheck --disableTelemetry --loose \
        </dev/null >"$STATE/azurite.log" 2>&1 &
    echo $! >"$STATE/azurite.pid"

    wait_for s3s-fs "$STATE/s3s-fs.pid" s3s-fs "$STATE/s3s-fs.log" s3s_ready "$s3_port"
    wait_for azurite "$STATE/azurite.pid" azurite "$STATE/azurite.log" azurite_ready "$az_port"

    # s3s-fs must refuse unsigned requests: proves signatures are checked.
    if command -v curl >/dev/null; then
        local code
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$s3_port/$BUCKET/" || true)
        [[ $code == 403 ]] || die "s3s-fs answered an unsigned request with HTTP $code, expected 403"
    fi
    alive "$STATE/s3s-fs.pid" s3s-fs || die "s3s-fs exited after start-up (see $STATE/s3s-fs.log)"
    alive "$STATE/azurite.pid" azurite || die "azurite exited after start-up (see $STATE/azurite.log)"
    log "both servers are up (state, logs and pids in $STATE)"
    print_env
}

stop_one() {
    local name=$1 pattern=$2 pidfile=$STATE/$1.pid pid
    if alive "$pidfile" "$pattern"; then
        pid=$(<"$pidfile")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name ($pid) ignored SIGTERM; killing it"
            kill -9 "$pid" 2>/dev/null || true
        fi
        log "stopped $name ($pid)"
    fi
    rm -f "$pidfile"
}

cmd_stop() {
    [[ -d $STATE ]] || return 0
    stop_one s3s-fs s3s-fs
    stop_one azurite azurite
}

case ${1:-} in
    install) cmd_install ;;
    start) cmd_start ;;
    env) print_env ;;
    stop) cmd_stop ;;
    *)
        echo "usage: $0 install|start|env|stop" >&2
        exit 2
        ;;
esac
