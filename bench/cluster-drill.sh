#!/usr/bin/env bash
# The long drill of cluster mode (docs/cluster.md): a PostgreSQL from initdb, two daemons in cluster mode on it, the
# active one killed with SIGKILL 100 times (or $1 times) at random moments under SIP (INVITEs, CANCELs) and gRPC
# (agent state changes) load, alternating which daemon dies; after every kill the standby must serve every
# acknowledged waiting call, callback owed and agent state, and nothing refused. Prints each takeover time (kill to
# the new owner's first answer) and their minimum, median and maximum. The test suite runs the same drill with 10 kills.
# Needs root (PostgreSQL runs as the postgres user) and Debian's postgresql.
set -euo pipefail
cd "$(dirname "$0")/.."
export ACD_CLUSTER_KILLS="${1:-100}" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build tests/Acd.Host.Tests -c Release -nologo -v quiet
dotnet test tests/Acd.Host.Tests -c Release --no-build -nologo --filter 'FullyQualifiedName~KillDrillTests' \
  --logger 'console;verbosity=detailed'
