#!/usr/bin/env bash
# What a new user's machine does with the README's two commands, as near as one machine can show it:
# a clean clone of the committed HEAD (or the ref given) in a temp dir, an empty HOME (so an empty
# ~/.cache/govrag and an empty pip cache), then
#   1. make test   (setup from requirements.lock, every test)
#   2. make run    until /readyz answers, one question through /api/ask, then the server is stopped.
# A missing install step or a test that depends on this machine's state shows here before users see it.
# Takes as long as a first setup (README, "Two commands"). The clone and its caches are removed at the
# end unless KEEP=1; the server is stopped on every exit path.
#
# Usage: scripts/fresh_check.sh [REF]      environment: RUNS=N runs make test N times (default 1),
#        PORT=... for make run (default 18765), KEEP=1 keeps the temp dir; RAG_TEST_SCORE_NOISE=1e-6
#        jitters every retrieval score as another CPU's rounding would, with another seed in each run.
set -euo pipefail

repo="$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)"
ref="${1:-HEAD}"
runs="${RUNS:-1}"
port="${PORT:-18765}"
work="$(mktemp -d "${TMPDIR:-/tmp}/fresh-check.XXXXXX")"
server=""

log() { printf '[fresh-check] %s\n' "$*"; }

cleanup() {
    local status=$?
    if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then
        kill -TERM -- "-$server" 2>/dev/null || kill -TERM "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    if [[ "${KEEP:-0}" == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
    if (( status == 0 )); then log "passed"; else log "FAILED (exit $status)"; fi
}
trap cleanup EXIT

git clone --quiet --no-local "$repo" "$work/repo"
git -C "$work/repo" checkout --quiet "$ref"
log "clone of $(git -C "$work/repo" rev-parse --short HEAD) in $work/repo, HOME=$work/home"
mkdir -p "$work/home"
cd "$work/repo"
# A new user's environment: nothing of this machine's caches or settings.
export HOME="$work/home"
unset RAG_CACHE_DIR RAG_INDEX_DIR VIRTUAL_ENV PIP_CACHE_DIR XDG_CACHE_HOME

for run in $(seq 1 "$runs"); do
    log "make test (run $run of $runs${RAG_TEST_SCORE_NOISE:+, scores jittered by $RAG_TEST_SCORE_NOISE, seed $run})"
    start=$SECONDS
    RAG_TEST_SCORE_SEED="$run" make test 2>&1 | tee "$work/test-$run.log" | tail -n 5
    log "make test passed in $((SECONDS - start)) s"
done

log "make run on 127.0.0.1:$port"
set -m  # the server gets its own process group: every child of it is stopped with it
RAG_PORT="$port" make run >"$work/run.log" 2>&1 &
server=$!
set +m
for _ in $(seq 1 900); do
    if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
    kill -0 "$server" 2>/dev/null || { tail -n 40 "$work/run.log"; exit 1; }
    sleep 1
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null
answer="$(curl -fsS -H 'content-type: application/json' \
    -d '{"question": "2023年太仓市一般公共预算收入是多少？"}' "http://127.0.0.1:$port/api/ask")"
printf '%s\n' "$answer" | head -c 400; echo
grep -q '189.4' <<<"$answer"
log "make run answered with the report's figure"
