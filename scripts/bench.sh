#!/usr/bin/env bash
# Runs the benchmark scenarios against SQLite and against a PostgreSQL this script starts (and stops).
# Usage: scripts/bench.sh [scenario options, e.g. --concurrency 64 --seconds 20]
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/services.sh
trap services_stop_all EXIT
services_start_postgres

dotnet build Sutazai.slnx --configuration Release --verbosity quiet --nologo
bench() { dotnet run --configuration Release --no-build --project bench/Sutazai.Bench -- "$@"; }

postgres="${SUTAZAI_TEST_POSTGRES/Database=postgres/Database=sutazai_bench}"
bench http "$@"
bench http --postgres "$postgres" "$@"
bench tasks "$@"
bench tasks --postgres "${postgres}_tasks" "$@"
bench gateway "$@"
bench gateway --postgres "${postgres}_gateway" "$@"
