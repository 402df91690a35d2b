#!/usr/bin/env bash
# Lines delivered by `nagare filter -f` and by GNU `tail -F`, following the
# same file while a writer rotates it (issue 12's follow figures).
#
#   benches/follow_rotation.sh [copytruncate|rename] [LINES] [EVERY_SECONDS]
#   NAGARE=path/to/nagare benches/follow_rotation.sh ...   # another build
#
# The writer (python3) appends LINES numbered JSON lines, 4 per millisecond,
# and every EVERY seconds either copies the file and truncates it in place
# (copytruncate, default every 0.2 s) or renames it to app.log.1 and reopens
# (rename, default every 0.05 s). Both followers run at once on the same
# file; each one's distinct lines are counted once the writer is done.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-copytruncate}"
LINES="${2:-10000}"
case "$MODE" in
  copytruncate) EVERY="${3:-0.2}" ;;
  rename) EVERY="${3:-0.05}" ;;
  *) echo "usage: $0 [copytruncate|rename] [LINES] [EVERY_SECONDS]" >&2; exit 2 ;;
esac
if [[ -z "${NAGARE:-}" ]]; then
  cargo build --release --quiet --bin nagare
  NAGARE=target/release/nagare
fi

work=$(mktemp -d)
trap 'kill $NPID $TPID 2>/dev/null || true; rm -rf "$work"' EXIT
log="$work/app.log"
: > "$log"

"$NAGARE" filter -f --line-buffered --format json '|= ""' "$log" > "$work/nagare.out" 2>/dev/null &
NPID=$!
tail -F -n +1 "$log" > "$work/tail.out" 2>/dev/null &
TPID=$!
sleep 1

python3 - "$log" "$MODE" "$LINES" "$EVERY" <<'PY'
import os, shutil, sys, time
path, mode, lines, every = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
f = open(path, "a", buffering=1)
last, n, rotations = time.monotonic(), 1, 0
while n <= lines:
    for _ in range(4):
        if n <= lines:
            f.write('{"n":%d,"msg":"line %d"}\n' % (n, n))
            n += 1
    time.sleep(0.001)
    if time.monotonic() - last >= every and n <= lines:
        last = time.monotonic()
        rotations += 1
        if mode == "copytruncate":
            shutil.copy(path, path + ".1")
            f.truncate(0)
        else:
            os.rename(path, path + ".1")
            f.close()
            f = open(path, "a", buffering=1)
print(f"{mode}: {lines} lines written, {rotations} rotations every {every} s")
PY
sleep 2
kill $NPID $TPID 2>/dev/null || true
wait $NPID $TPID 2>/dev/null || true

count() { grep -o '"n":[0-9]*' "$1" | sort -u | wc -l; }
echo "nagare -f:   $(count "$work/nagare.out") of $LINES lines"
echo "tail -F:     $(count "$work/tail.out") of $LINES lines"
