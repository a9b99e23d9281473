#!/usr/bin/env bash
# bench-files: the files service against raw MinIO, in one run. Prints
# figures; never passes or fails on a timing.
#
#   - upload (tus, one PATCH) and download of a 1 GiB file through the files
#     service, behind a front doing the gateway's identity step (Basic →
#     signed Bureau-Identity, reverse proxy), against minio-go straight to
#     the same MinIO; MB/s for each and the ratio;
#   - time to list a folder of 10 000 files (API pages of 1000, WebDAV
#     PROPFIND depth 1);
#   - metadata operations per second (create folder, rename, move; 8 clients).
#
# Environment: BENCH_SIZE (bytes, 1073741824), BENCH_FILES (10000),
# BENCH_OPS (2000), BENCH_DB=postgres (default SQLite). MinIO (and
# PostgreSQL) are started by services/platform/testenv, as in the tests.
set -euo pipefail
cd "$(dirname "$0")/../services/files"
BUREAU_BENCH=1 exec go test -run '^TestBenchFiles$' -count=1 -v -timeout 30m . 2>&1 | grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS$' -e '^ok '
