#!/usr/bin/env bash
# Proves that a change is behaviour-preserving: builds two revisions and compares, byte for byte,
# everything the user sees — `check` reports (quick, or full with --full), every file `figures`
# writes, `sharpness` and `instance` outputs, `reproduce`, `list` — and their exit codes.
# Wall-clock lines (timing sidecars, *_seconds) are left out: they are not deterministic.
#
#   scripts/same-outputs.sh [--full] BASE [HEAD]      (HEAD defaults to the work tree)
#
# Outputs of a committed revision are cached in $SAME_OUTPUTS_CACHE (default target/same-outputs),
# so comparing many heads against one base builds and runs the base once.
set -euo pipefail
full=0
if [ "${1:-}" = "--full" ]; then full=1; shift; fi
[ $# -ge 1 ] || { echo "usage: $0 [--full] BASE [HEAD]" >&2; exit 2; }
top=$(git rev-parse --show-toplevel)
cache=${SAME_OUTPUTS_CACHE:-$top/target/same-outputs}
export CARGO_TARGET_DIR=${SAME_OUTPUTS_TARGET:-$top/target}
mkdir -p "$cache"

# outputs REV DIR: writes the user-visible outputs of REV ("WORKTREE" = the current files) to DIR.
outputs() {
  local rev=$1 dir=$2 src
  if [ "$rev" = WORKTREE ]; then
    src=$top
  else
    src=$(mktemp -d)
    git -C "$top" worktree add --detach --quiet "$src" "$rev"
  fi
  (cd "$src" && cargo build --release --quiet --bin dlncheck)
  local bin=$CARGO_TARGET_DIR/release/dlncheck
  # Outputs go to a relative path inside the source tree, so that printed paths are the same.
  local rel=.same-outputs
  rm -rf "${src:?}/$rel"
  (
    cd "$src"
    set +e
    run() { local name=$1; shift; "$bin" "$@" >"$rel/$name.out" 2>"$rel/$name.err"; echo "$?" >"$rel/$name.rc"; }
    mkdir -p "$rel"
    run list list
    run sharpness sharpness examples/paper_mlp.yaml
    run instance instance --depth 10 --init gaussian --scale 0.35 --eta 0.02 --steps 4000 --seed 1
    run check_quick check --quick --out "$rel/quick/report.yaml"
    run reproduce_quick reproduce mc.thm1.lower_bound --quick --out "$rel/quick/worst.yaml"
    run figures_quick figures --quick --out "$rel/quick/figures"
    if [ "$full" = 1 ]; then
      run check_full check --out "$rel/full/report.yaml"
      run figures_full figures --out "$rel/full/figures"
    fi
  )
  rm -rf "$dir"
  mv "$src/$rel" "$dir"
  # Drop what is not deterministic: timing sidecars, wall/CPU seconds, the table's seconds column.
  find "$dir" -name '*.timing.yaml' -delete
  for f in "$dir"/*.out "$dir"/*.err; do
    sed -i -E '/_seconds:|seconds$/d; s/ +[0-9]+\.[0-9]+$//; /^(bench|figures):.* s\)?$/d' "$f"
  done
  if [ "$rev" != WORKTREE ]; then git -C "$top" worktree remove --force "$src"; fi
}

side() { # side REV → directory holding its outputs
  local rev=$1 key
  if [ "$rev" = WORKTREE ]; then
    key=worktree-$$
    rm -rf "$cache/$key"
  else
    key=$(git -C "$top" rev-parse "$rev^{commit}")
  fi
  [ "$full" = 1 ] && key=$key-full
  if [ ! -d "$cache/$key" ]; then
    echo "same-outputs: building and running $rev" >&2
    outputs "$rev" "$cache/$key.partial" && mv "$cache/$key.partial" "$cache/$key"
  fi
  echo "$cache/$key"
}

a=$(side "$1")
b=$(side "${2:-WORKTREE}")
if diff -r "$a" "$b" >"$cache/last.diff"; then
  echo "same-outputs: identical ($(find "$a" -type f | wc -l) files: $1 vs ${2:-work tree})"
else
  echo "same-outputs: DIFFERENT ($1 vs ${2:-work tree}); first lines of $cache/last.diff:" >&2
  head -40 "$cache/last.diff" >&2
  exit 1
fi
