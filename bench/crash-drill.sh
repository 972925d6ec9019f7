#!/usr/bin/env bash
# The long crash drill of SPEC section 8: the daemon as a separate process under SIP and gRPC load, killed with
# SIGKILL 100 times (or $1 times) at random moments and restarted on the same data directory; after every restart
# each acknowledged waiting call (in its place), agent state and callback is checked, and nothing unacknowledged may
# appear. The test suite runs the same drill with 20 kills. About 4 minutes for 100 kills on 2 cores. A failure names
# its random seed; ACD_CRASH_SEED=N bench/crash-drill.sh repeats that run.
set -euo pipefail
cd "$(dirname "$0")/.."
export ACD_CRASH_KILLS="${1:-100}" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build tests/Acd.Host.Tests -c Release -nologo -v quiet
dotnet test tests/Acd.Host.Tests -c Release --no-build -nologo --filter 'FullyQualifiedName~CrashTests' \
  --logger 'console;verbosity=normal'
