#!/bin/sh
# Writes seed corpora for the fuzz targets into fuzz/corpus/TARGET/, from the
# repository's fixtures, parsers and tests. Run from anywhere; safe to rerun
# (existing files are overwritten, fuzzer-found inputs are kept).
set -eu
cd "$(dirname "$0")/.."
c=fuzz/corpus
for t in logql_parse pattern format_definition decoders template time; do
    mkdir -p "$c/$t"
done

# One file per line of stdin, named seed-NNNN in directory $1.
one_per_line() {
    n=0
    while IFS= read -r l; do
        n=$((n + 1))
        printf '%s' "$l" >"$1/seed-$(printf %04d "$n")"
    done
}

# LogQL: the conformance table's queries (raw strings without `#`).
grep -o 'r#"[^#]*"#' tests/logql_conformance.rs | sed 's/^r#"//; s/"#$//' |
    one_per_line "$c/logql_parse"

# pattern: PATTERN, newline, LINE.
pat() { printf '%s\n%s' "$2" "$3" >"$c/pattern/seed-$1"; }
pat 1 '<ip> - <_> [<ts>] "<method> <path> <_>" <status> <size> "<_>" "<ua>"' \
    "$(head -n 1 fixtures/formats/nginx.log)"
pat 2 '[<ts>] <level>: <msg>' '[2024-06-01] INFO: started'
pat 3 '<_> level=<level> <_>' "$(head -n 1 fixtures/formats/logfmt.log)"
pat 4 '<ts> <stream> <tag> <msg>' "$(head -n 1 fixtures/formats/cri.log)"

# Format definitions: each shipped definition, then NUL and lines to decode.
for f in parsers/*.toml; do
    {
        cat "$f"
        printf '\0'
        head -n 3 fixtures/formats/nginx.log
    } >"$c/format_definition/$(basename "$f" .toml)"
done

# Decoders: every line of the format fixtures.
cat fixtures/formats/*.log fixtures/semantics/*.log | one_per_line "$c/decoders"

# Templates: the string literals of the template tests that hold an action.
grep -oE '"[^"]*\{\{[^"]*"' src/logql/template/tests.rs | sed 's/^"//; s/"$//' |
    one_per_line "$c/template"

# Times.
printf '%s\n' \
    '2024-06-01T12:34:56.789Z' '2024-06-01 12:34:56,789' '2024-06-01T12:34:56+02:00' \
    '01/Jun/2024:12:34:56 +0000' 'Sat, 01 Jun 2024 12:34:56 GMT' 'Jun  1 12:34:56' \
    '1717245296' '1717245296.123' '1717245296123456789' '1h30m' 'now-5m' |
    one_per_line "$c/time"
printf '%s\n%s' '%d/%b/%Y:%H:%M:%S %z' '01/Jun/2024:12:34:56 +0000' >"$c/time/fmt-1"
printf '%s\n%s' '%b %e %H:%M:%S' 'Jun  1 12:34:56' >"$c/time/fmt-2"
printf '%s\n%s' '%Y-%m-%d %H:%M:%S %Z' '2024-06-01 12:34:56 UTC' >"$c/time/fmt-3"

for t in logql_parse pattern format_definition decoders template time; do
    echo "$t: $(ls "$c/$t" | wc -l) seeds"
done
