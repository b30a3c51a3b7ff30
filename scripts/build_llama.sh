#!/usr/bin/env bash
# Build llama-cpp-python from its sdist with a portable (non-native) CPU backend and install it
# into the project's virtualenv, together with its [server] extra.
#
# Why: the default build uses -DGGML_NATIVE=ON, which compiles kernels for the build machine's
# newest instruction sets (AMX, AVX-512) and crashes on CPUs that lack them.  pip's wheel cache
# keys wheels by name/version only (not by CMAKE_ARGS), so a default-built wheel must never land
# there: the wheel is built with --no-cache-dir into $CACHE/wheels and installed from that folder.
#
# Locked: the build backend (scikit-build-core) and every package llama-cpp-python[server] needs come
# from requirements.lock, installed by `make setup` before this runs; the wheel is built without build
# isolation and installed with --no-deps, so pip resolves nothing here.
#
# Idempotent: the build is skipped when a wheel of the pinned version built with the same
# CMAKE_ARGS is already in $CACHE/wheels; the install is skipped when that version is installed.
#
# Environment:
#   PYTHON               interpreter of the target venv (default: .venv/bin/python)
#   RAG_CACHE_DIR        cache root (default: $HOME/.cache/govrag); the wheel goes to <it>/wheels
#   LLAMA_CPP_VERSION    version to build (default: 0.3.36)
#   LLAMA_CMAKE_ARGS     CMake flags (default: -DGGML_NATIVE=OFF plus AVX2/FMA/F16C when present)
#   CMAKE_BUILD_PARALLEL_LEVEL  compile jobs (default: number of cores)
set -euo pipefail

PYTHON="${PYTHON:-.venv/bin/python}"
VERSION="${LLAMA_CPP_VERSION:-0.3.36}"
CACHE="${RAG_CACHE_DIR:-$HOME/.cache/govrag}"
WHEELS="$CACHE/wheels"

log() { printf '[build_llama] %s\n' "$*"; }

if [[ ! -x "$PYTHON" ]]; then
    log "error: no python at $PYTHON (set PYTHON=...)" >&2
    exit 1
fi

# Portable x86-64 build: never native, never AMX/AVX-512.  AVX2/FMA/F16C only if the CPU has them.
if [[ -z "${LLAMA_CMAKE_ARGS:-}" ]]; then
    LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DGGML_AVX512=OFF"
    flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)"
    if [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* && " $flags " == *" f16c "* ]]; then
        LLAMA_CMAKE_ARGS+=" -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
    else
        LLAMA_CMAKE_ARGS+=" -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF"
    fi
    LLAMA_CMAKE_ARGS+=" -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"
fi
if [[ "$LLAMA_CMAKE_ARGS" != *"-DGGML_NATIVE=OFF"* ]]; then
    log "error: LLAMA_CMAKE_ARGS must contain -DGGML_NATIVE=OFF" >&2
    exit 1
fi

mkdir -p "$WHEELS"
stamp="$WHEELS/llama_cpp_python-$VERSION.cmake_args"

shopt -s nullglob
wheels=("$WHEELS"/llama_cpp_python-"$VERSION"-*.whl)
shopt -u nullglob

if (( ${#wheels[@]} > 0 )) && [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$LLAMA_CMAKE_ARGS" ]]; then
    log "wheel present, build skipped: ${wheels[0]}"
else
    rm -f "${wheels[@]}" "$stamp"
    log "building llama-cpp-python==$VERSION from sdist (takes several minutes)"
    log "CMAKE_ARGS=$LLAMA_CMAKE_ARGS"
    start=$SECONDS
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" \
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        "$PYTHON" -m pip wheel --no-cache-dir --no-deps --no-build-isolation --no-binary llama-cpp-python \
            -w "$WHEELS" "llama-cpp-python==$VERSION"
    printf '%s' "$LLAMA_CMAKE_ARGS" > "$stamp"
    log "built in $((SECONDS - start))s: $(ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl)"
fi

installed="$("$PYTHON" -c 'import importlib.metadata as m
try:
    print(m.version("llama-cpp-python"))
except m.PackageNotFoundError:
    print("")' 2>/dev/null || true)"

if [[ "$installed" == "$VERSION" ]] && "$PYTHON" -c 'import llama_cpp.server.app' >/dev/null 2>&1; then
    log "llama-cpp-python $VERSION already installed, install skipped"
else
    log "installing llama-cpp-python==$VERSION from $WHEELS (its [server] needs come from requirements.lock)"
    "$PYTHON" -m pip install --no-cache-dir --no-deps --only-binary llama-cpp-python --find-links "$WHEELS" \
        "llama-cpp-python==$VERSION"
    "$PYTHON" -m pip check
fi

"$PYTHON" -c 'import llama_cpp; print("[build_llama] ok: llama_cpp", llama_cpp.__version__)'
