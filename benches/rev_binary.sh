# Sourced by the before/after scripts (runs from the repository root).
#
# rev_binary REV: prints the path of a release `nagare` built from commit
# REV in a worktree under bench-data/ (built once, reused); with REV "-",
# the binary named by $BEFORE.
# unlimited BIN: the flag that lifts `query`'s series limit, when BIN has
# one (the benchmark queries answer with ~150,000 series; builds before
# --max-series had no limit).
unlimited() {
  if "$1" query --help 2>/dev/null | grep -q -- --max-series; then
    echo "--max-series=0"
  fi
}

rev_binary() {
  local rev=$1
  if [[ "$rev" == "-" ]]; then
    echo "${BEFORE:?BEFORE=path/to/nagare is needed with REV -}"
    return
  fi
  local wt="bench-data/before-$rev"
  if [[ ! -x "$wt/target/release/nagare" ]]; then
    rm -rf "$wt"
    git worktree add --detach "$wt" "$rev" >/dev/null
    (cd "$wt" && cargo build --release --quiet --bin nagare) >&2
  fi
  echo "$wt/target/release/nagare"
}
