#!/usr/bin/env bash
# Runs every test: installs (apt) and starts the services the tests need on free loopback ports and temp
# dirs, runs the whole suite, stops what it started by PID, and exits non-zero on any failure.
# Extra arguments go to `dotnet test` (for example: --filter "FullyQualifiedName~Health").
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/services.sh
trap services_stop_all EXIT

services_start_postgres

# Built first, so no compiler competes with the tests that measure the machine (CPU use, renicing).
dotnet build Sutazai.slnx --configuration Release
dotnet test Sutazai.slnx --configuration Release --no-build "$@"
