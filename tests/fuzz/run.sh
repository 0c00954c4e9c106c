#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (libFuzzer + ASan + UBSan) and runs
# each for N seconds (default 60). Fails on any crash, leak, timeout or
# sanitizer report. Usage: bash tests/fuzz/run.sh [seconds] [target …]
#   decoder_fuzzer       JSON-RPC decoding, tool argument validation, requestState
#   http_request_fuzzer  raw HTTP request bytes through parsing and header handling
#   replica_files_fuzzer the WAL and snapshot readers
#   backup_file_fuzzer   the backup file reader (header, frames, manifest)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decoder_fuzzer http_request_fuzzer replica_files_fuzzer jwt_fuzzer backup_file_fuzzer)
out=build-fuzz
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I.)

build() {
  case "$1" in
    decoder_fuzzer)
      clang++ "${flags[@]}" tests/fuzz/decoder_fuzzer.cpp protocol/json_rpc.cpp protocol/json_schema.cpp \
        protocol/base64.cpp base/crypto.cpp protocol/request_state.cpp -lcrypto -o "$out/decoder_fuzzer" ;;
    http_request_fuzzer)
      clang++ "${flags[@]}" tests/fuzz/http_request_fuzzer.cpp protocol/detail/http_headers.cpp \
        protocol/base64.cpp protocol/json_rpc.cpp protocol/versions.cpp base/crypto.cpp -lcrypto \
        -o "$out/http_request_fuzzer" ;;
    replica_files_fuzzer)
      clang++ "${flags[@]}" tests/fuzz/replica_files_fuzzer.cpp cluster/replica_files.cpp base/crypto.cpp -lcrypto \
        -o "$out/replica_files_fuzzer" ;;
    jwt_fuzzer)
      clang++ "${flags[@]}" tests/fuzz/jwt_fuzzer.cpp protocol/jwt_verifier.cpp -lcrypto -o "$out/jwt_fuzzer" ;;
    backup_file_fuzzer)
      clang++ "${flags[@]}" tests/fuzz/backup_file_fuzzer.cpp cluster/backup_file.cpp cluster/replica_files.cpp \
        base/crypto.cpp -lcrypto -lzstd -o "$out/backup_file_fuzzer" ;;
    *) echo "fuzz: unknown target $1" >&2; exit 2 ;;
  esac
}

# The seeds in the repo stay as they are; new inputs go to build-fuzz/<target>.corpus.
seeds_of() {
  case "$1" in
    decoder_fuzzer) echo tests/fuzz/corpus ;;
    http_request_fuzzer) echo tests/fuzz/http_corpus ;;
    replica_files_fuzzer) echo tests/fuzz/replica_corpus ;;
    jwt_fuzzer) echo tests/fuzz/jwt_corpus ;;
    backup_file_fuzzer) echo tests/fuzz/backup_corpus ;;
  esac
}

for t in "${targets[@]}"; do
  mkdir -p "$out/$t.corpus"
  build "$t"
  "$out/$t" "$out/$t.corpus" "$(seeds_of "$t")" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
  echo "fuzz: $t, $seconds s, no crash"
done
