#!/usr/bin/env bash
# Builds the decoder fuzzer with clang (libFuzzer + ASan + UBSan) and runs it
# for N seconds (default 60). Fails on any crash, leak, timeout or sanitizer
# report. Usage: bash tests/fuzz/run.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
out=build-fuzz
mkdir -p "$out/corpus"
clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I. tests/fuzz/decoder_fuzzer.cpp protocol/json_rpc.cpp protocol/json_schema.cpp \
  protocol/base64.cpp base/crypto.cpp protocol/request_state.cpp -lcrypto \
  -o "$out/decoder_fuzzer"
# New inputs go to build-fuzz/corpus; the seeds in tests/fuzz/corpus stay as they are.
"$out/decoder_fuzzer" "$out/corpus" tests/fuzz/corpus \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
echo "fuzz: $seconds s, no crash"
