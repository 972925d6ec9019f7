#!/usr/bin/env bash
# Runs one fuzz target under afl-fuzz for a bounded time (fuzz/README.md).
#
#   fuzz/run.sh TARGET SECONDS            a clean build: passes when nothing is found
#   fuzz/run.sh TARGET SECONDS --planted  a build with the planted faults: passes when the fault is found (and stops there)
#   fuzz/run.sh TARGET 0 [--planted]      only build and instrument
#
# TARGET: sip | journal | snapshot | config. FUZZ_OUT=DIR keeps the builds and afl's output there (default: a new
# temporary directory). Prints one line: target, mode, verdict, executions, paths, edges, crashes, hangs, seconds.
set -uo pipefail
cd "$(dirname "$0")/.."
target=${1:?target}
seconds=${2:?seconds}
mode=clean
[ "${3:-}" = "--planted" ] && mode=planted
out=${FUZZ_OUT:-$(mktemp -d)}
mkdir -p "$out"
pub="$out/pub-$mode"

# Publish with its own artifacts folder, so neither build ever replaces the other's (or the repository's own)
# assemblies, then instrument the Acd.Core.dll the harness loads. Nothing may build into $pub after this.
if [ ! -f "$pub/.instrumented" ]; then
  plant=false
  [ "$mode" = planted ] && plant=true
  dotnet publish fuzz/Acd.Fuzz/Acd.Fuzz.csproj -c Release -nologo -v quiet -p:PlantFuzzBug=$plant \
    --artifacts-path "$out/artifacts-$mode" -o "$pub" > "$out/publish-$mode.log" 2>&1 || { cat "$out/publish-$mode.log"; echo "$target $mode: publish failed"; exit 1; }
  dotnet tool restore > /dev/null
  dotnet tool run sharpfuzz "$pub/Acd.Core.dll" > "$out/instrument-$mode.log" 2>&1 || { cat "$out/instrument-$mode.log"; echo "$target $mode: instrumentation failed"; exit 1; }
  touch "$pub/.instrumented"
fi

# SECONDS 0: only build and instrument.
[ "$seconds" = 0 ] && { echo "$mode build ready in $pub"; exit 0; }

export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
[ "$mode" = planted ] && export AFL_BENCH_UNTIL_CRASH=1
dict=()
[ -f "fuzz/dict/$target.dict" ] && dict=(-x "fuzz/dict/$target.dict")
findings="$out/afl-$target-$mode"
rm -rf "$findings"
seeds="fuzz/seeds/$target"
if [ "$mode" = planted ]; then
  # The proof starts from the corpus's three smallest inputs: afl's effort is not spread over a large queue, so a
  # fault two coverage steps deep is found in seconds rather than by chance.
  seeds="$out/seeds-$target"
  rm -rf "$seeds"
  mkdir -p "$seeds"
  ls -S "fuzz/seeds/$target" | tail -3 | while read -r f; do cp "fuzz/seeds/$target/$f" "$seeds/"; done
fi
# The config proof also runs afl's deterministic stages (-D): every byte of its smallest inputs is tried with every
# small arithmetic change in order, so its fault — one digit from a value in its smallest seed — is reached in seconds,
# not by the chance of havoc alone (fuzz/README.md: why the config proof starts one step from its fault).
det=()
[ "$mode" = planted ] && [ "$target" = config ] && det=(-D)
timeout $((seconds + 60)) nice -n 5 afl-fuzz -i "$seeds" -o "$findings" "${dict[@]}" "${det[@]}" -s 1 -t 5000 -m none -V "$seconds" \
  -- "$pub/Acd.Fuzz" "$target" > "$findings.log" 2>&1
stats="$findings/default/fuzzer_stats"
if [ ! -f "$stats" ]; then
  tail -30 "$findings.log"
  echo "$target $mode: afl-fuzz did not run"
  exit 1
fi

stat() { sed -n "s/^$1 *: *//p" "$stats"; }
crashes=$(stat saved_crashes)
hangs=$(stat saved_hangs)
summary="execs $(stat execs_done), paths $(stat corpus_count), edges $(stat edges_found), crashes $crashes, hangs $hangs, $(stat run_time) s"
first=$(ls "$findings"/default/crashes/id:* 2>/dev/null | head -1)

if [ "$mode" = planted ]; then
  # Found, and it is the planted fault: replayed outside afl it ends in the planted exception.
  # Found through the target's own code: the planted exception, thrown under the target's entry point.
  case "$target" in
    sip) path=SipParser.TryParse ;;
    journal) path=JournalFormat.Decode ;;
    snapshot) path=Router.ReadState ;;
    config) path=DomainCompiler.TryCompile ;;
  esac
  [ -n "$first" ] && timeout 20 "$pub/Acd.Fuzz" "$target" < "$first" > "$findings.replay" 2>&1
  if [ -n "$first" ] && grep -q "FUZZ_PLANTED_BUG" "$findings.replay" && grep -q "$path" "$findings.replay"; then
    echo "$target planted: found ($summary)"
    exit 0
  fi

  echo "$target planted: NOT found ($summary)"
  exit 1
fi

if [ "$crashes" = 0 ] && [ "$hangs" = 0 ]; then
  echo "$target clean: nothing found ($summary)"
  exit 0
fi

# Keep what was found where a regression test can pick it up (fuzz/findings/TARGET/), with its stack trace.
mkdir -p "fuzz/findings/$target"
for f in "$findings"/default/crashes/id:* "$findings"/default/hangs/id:*; do
  [ -f "$f" ] || continue
  name="fuzz/findings/$target/$(sha1sum "$f" | cut -c1-12)"
  cp "$f" "$name"
  timeout 20 "$pub/Acd.Fuzz" "$target" < "$f" > "$name.txt" 2>&1
done
echo "$target clean: FOUND ($summary); inputs in fuzz/findings/$target"
exit 1
