//! Expected outputs are Loki's documented examples (docs/sources/query/
//! template_functions.md, cited as "doc") or what Go's text/template,
//! fmt and sprig produce for the same template and data.

use super::*;

// The labels, line and time the template fuzz target renders over too.
use crate::fuzzing::TEMPLATE_LABELS as DATA;

fn try_render(t: &str) -> Result<String, String> {
    let tpl = Template::parse(t).unwrap_or_else(|e| panic!("parse {t:?}: {e:?}"));
    let mut out = String::new();
    tpl.render(&DATA, &mut out).map(|_| out)
}

#[track_caller]
fn r(t: &str) -> String {
    try_render(t).unwrap_or_else(|e| panic!("render {t:?}: {e}"))
}

#[track_caller]
fn err(t: &str) -> String {
    match try_render(t) {
        Ok(o) => panic!("{t:?} rendered {o:?}"),
        Err(e) => e,
    }
}

fn parse_err(t: &str) -> (usize, String) {
    Template::parse(t).expect_err(t)
}

// ---- actions and syntax ----

#[test]
fn fields_literals_and_trimming() {
    assert_eq!(r("{{.status}} {{ .path }}"), "503 /v1/items");
    // missingkey=zero: a missing label is the empty string.
    assert_eq!(r("[{{ .missing }}]"), "[]");
    assert_eq!(r("a  {{- .status -}}  b"), "a503b");
    assert_eq!(r("a {{- 3 }}"), "a3");
    // `{{-3}}` is the number -3, not a trim marker.
    assert_eq!(r("a {{-3}}"), "a -3");
    assert_eq!(
        r(r#"{{ "q\t\"x\"" }}|{{ `raw\n` }}|{{ 'a' }}|{{ true }}|{{ 1.50 }}|{{ 0x10 }}|{{ 1e3 }}"#),
        "q\t\"x\"|raw\\n|97|true|1.5|16|1000"
    );
    assert_eq!(r("x{{/* a comment */}}y {{- /* trimmed */ -}} z"), "xyz");
    assert!(r("{{ . }}").starts_with("map[b64:aGVsbG8= err:ErrTimeout"));
}

#[test]
fn pipelines_pass_the_value_last() {
    // doc: {{ .path | replace " " "_" | trunc 5 | upper }}
    assert_eq!(
        r(r#"{{ .path | replace "/" "_" | trunc 5 | upper }}"#),
        "_V1_I"
    );
    assert_eq!(r(r#"{{ .path | trimPrefix "/v1" | upper }}"#), "/ITEMS");
    assert_eq!(r(r#"{{ printf "%s-%s" "a" (.status | trunc 1) }}"#), "a-5");
    assert_eq!(
        r(r#"{{ (fromJson .json).a }} {{ (fromJson .json).c.d }}"#),
        "1 <no value>"
    );
}

#[test]
fn variables() {
    assert_eq!(
        r(r#"{{ $x := .status }}{{ $x }}{{ $x = "y" }}{{ $x }}"#),
        "503y"
    );
    assert_eq!(
        r(r#"{{ with .path }}{{ $.status }}:{{ . }}{{ end }}"#),
        "503:/v1/items"
    );
    // A variable lives until the end of its control structure.
    assert_eq!(
        r(r#"{{ $v := 1 }}{{ if true }}{{ $v = 2 }}{{ $w := 3 }}{{ end }}{{ $v }}"#),
        "2"
    );
    assert_eq!(parse_err("{{ $nope }}").1, r#"undefined variable "$nope""#);
    assert_eq!(
        parse_err("{{ if true }}{{ $w := 3 }}{{ end }}{{ $w }}").1,
        r#"undefined variable "$w""#
    );
}

#[test]
fn if_else_chains() {
    // doc examples (Logical functions).
    assert_eq!(
        r(r#"{{ if and (contains "he" "hello") (contains "llo" "hello") }} yes {{end}}"#),
        " yes "
    );
    assert_eq!(
        r(r#"{{ if contains "ErrTimeout" .err }} timeout {{end}}"#),
        " timeout "
    );
    assert_eq!(r(r#"{{ if eq "hello" "hello" }} yes {{end}}"#), " yes ");
    assert_eq!(
        r(
            r#"{{ if contains .err "ErrTimeout" }} timeout {{else if contains "he" "hello"}} yes {{else}} no {{end}}"#
        ),
        " timeout "
    );
    assert_eq!(
        r(
            r#"{{ if contains .err "x" }} timeout {{else if contains "he" "hello"}} yes {{else}} no {{end}}"#
        ),
        " yes "
    );
    assert_eq!(
        r(r#"{{ if .missing }}a{{ else if eq .status "503" }}b{{ else }}c{{ end }}"#),
        "b"
    );
    assert_eq!(
        r(r#"{{ if .missing }}a{{ else if .missing }}b{{ else }}c{{ end }}"#),
        "c"
    );
    assert_eq!(
        r(r#"{{ with .missing }}a{{ else with .status }}{{ . }}{{ end }}"#),
        "503"
    );
    assert_eq!(r(r#"{{ with .missing }}a{{ else }}b{{ end }}"#), "b");
}

#[test]
fn go_truth() {
    let t = |v: &str| r(&format!("{{{{ if {v} }}}}T{{{{ else }}}}F{{{{ end }}}}"));
    assert_eq!(t(r#""""#), "F");
    assert_eq!(t("0"), "F");
    assert_eq!(t("0.0"), "F");
    assert_eq!(t("false"), "F");
    // `{{ if nil }}` is an error in Go ("nil is not a command").
    assert_eq!(t(r#"(fromJson "{}")"#), "F");
    assert_eq!(t(r#"(fromJson "[]")"#), "F");
    assert_eq!(t(r#"(fromJson "bad")"#), "F");
    assert_eq!(t(r#"(toDate "2006" "x")"#), "T");
    assert_eq!(t(r#""0""#), "T");
    assert_eq!(t("1"), "T");
}

#[test]
fn range_over_lists_maps_and_ints() {
    // doc (fromJson): range over a JSON array of objects.
    assert_eq!(
        r(r#"{{ range $q := (fromJson .json).queries }} {{ $q.query }} {{ end }}"#),
        " q1  q2 "
    );
    assert_eq!(
        r(r#"{{ range $i, $v := (fromJson .json).b }}{{ $i }}={{ $v }};{{ end }}"#),
        "0=1;1=2.5;2=x;"
    );
    assert_eq!(
        r(r#"{{ range $k, $v := fromJson .json }}{{ $k }} {{ end }}"#),
        "a b c queries "
    );
    assert_eq!(
        r(r#"{{ range (fromJson .json).b }}[{{ . }}]{{ end }}"#),
        "[1][2.5][x]"
    );
    assert_eq!(
        r(r#"{{ range (fromJson "[]") }}x{{ else }}empty{{ end }}"#),
        "empty"
    );
    assert_eq!(r("{{ range 3 }}{{ . }}{{ end }}"), "012");
    assert_eq!(r("{{ range $i := 5 }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ $i }}{{ end }}"), "02");
    assert!(err(r#"{{ range .status }}{{ end }}"#).ends_with("range can't iterate over 503"));
    assert_eq!(parse_err("{{ break }}").1, "{{break}} outside {{range}}");
}

#[test]
fn define_and_template() {
    assert_eq!(
        r(r#"{{ define "T" }}<{{ . }}>{{ end }}{{ template "T" .status }}{{ template "T" "x" }}"#),
        "<503><x>"
    );
    assert_eq!(
        r(r#"{{ block "B" .path }}[{{ . }}]{{ end }}"#),
        "[/v1/items]"
    );
    assert!(err(r#"{{ template "nope" }}"#).ends_with(r#"no such template "nope""#));
    assert!(
        err(r#"{{ define "R" }}{{ template "R" }}{{ end }}{{ template "R" }}"#)
            .contains("exceeded maximum template depth")
    );
}

#[test]
fn parse_errors_are_gos() {
    assert_eq!(
        parse_err("{{ nosuch .a }}"),
        (3, r#"function "nosuch" not defined"#.into())
    );
    assert_eq!(parse_err("{{.a}} {{ nosuch }}").0, 10);
    assert_eq!(parse_err("{{ .a ").1, "unclosed action");
    assert_eq!(parse_err("{{ if .a }}x").1, "unexpected EOF");
    assert_eq!(parse_err("x{{ end }}").1, "unexpected {{end}}");
    assert_eq!(parse_err("{{ }}").1, "missing value for command");
    assert_eq!(
        parse_err("{{ .a | \"x\" }}").1,
        "non executable command in pipeline stage 2"
    );
    assert_eq!(parse_err("{{ (upper .a }}").1, "unclosed left paren");
    assert_eq!(parse_err("{{ \"abc }}").1, "unterminated quoted string");
    assert_eq!(parse_err("{{/* x }}").1, "unclosed comment");
    assert_eq!(parse_err("{{ 3x }}").1, r#"bad number syntax: "3x""#);
    assert_eq!(parse_err("{{ # }}").1, "unexpected \"#\" in command");
    // Arity is checked when the template runs, as in Go.
    assert!(Template::parse("{{ upper .a .b }}").is_ok());
}

#[test]
fn execution_errors_are_gos() {
    assert_eq!(
        err("{{div 1 0}}"),
        r#"template: line:1:2: executing "line" at <div 1 0>: error calling div: runtime error: integer divide by zero"#
    );
    assert_eq!(
        err("x\n {{ upper .a .b }}"),
        r#"template: line:2:4: executing "line" at <upper>: wrong number of args for upper: want 1 got 2"#
    );
    assert!(err("{{ trunc .n .path }}")
        .ends_with("at <.n>: wrong type for value; expected int; got string"));
    assert!(err("{{ trunc 1.5 .path }}").ends_with("at <1.5>: expected integer; found 1.5"));
    assert!(err("{{ upper 3 }}").ends_with("expected string; found 3"));
    assert!(err("{{ .status.x }}").ends_with("can't evaluate field x in type string"));
    assert!(err("{{ unixEpoch .ts }}")
        .ends_with("wrong type for value; expected time.Time; got string"));
    assert!(err("{{ .status 1 }}").ends_with("status is not a method but has arguments"));
    let t = Template::parse("{{ div 1 0 }}").unwrap().named("label");
    assert!(t
        .render(&DATA, &mut String::new())
        .unwrap_err()
        .starts_with(r#"template: label:1:3: executing "label""#));
}

#[test]
fn fields_are_reported() {
    let t = Template::parse(r#"{{.a}} {{ .b | default .c }}{{ if .d }}{{ with .e }}{{ .f }}{{ end }}{{ end }}{{ $.g }}{{ (fromJson .h).i }}"#).unwrap();
    assert_eq!(
        t.fields(),
        vec!["a", "b", "c", "d", "e", "f", "g", "h", "i"]
    );
    assert!(!t.reads_all_labels());
    assert!(
        Template::parse(r#"{{ if 1 }}{{ (__timestamp__).Unix }}{{ end }}"#)
            .unwrap()
            .calls("__timestamp__")
    );
    assert!(!t.calls("__timestamp__"));
    assert!(Template::parse(r#"{{ index . "x" }}"#)
        .unwrap()
        .reads_all_labels());
    assert!(Template::parse(r#"{{ range $k, $v := $ }}{{ end }}"#)
        .unwrap()
        .reads_all_labels());
}

// ---- Go builtins ----

#[test]
fn builtin_and_or_not() {
    assert_eq!(r(r#"{{ or .missing "dflt" }}"#), "dflt");
    assert_eq!(r(r#"{{ or .status "dflt" }}"#), "503");
    assert_eq!(r(r#"{{ and .status .missing "x" }}|"#), "|");
    assert_eq!(r(r#"{{ and 1 2 }}"#), "2");
    // `and`/`or` stop early: the division by zero is never evaluated.
    assert_eq!(r(r#"{{ or 1 (div 1 0) }}"#), "1");
    assert_eq!(r("{{ not .missing }} {{ not 1 }}"), "true false");
}

#[test]
fn builtin_comparisons() {
    assert_eq!(
        r(r#"{{ eq .status "503" }} {{ eq .status "1" "2" "503" }} {{ ne 1 2 }}"#),
        "true true true"
    );
    assert_eq!(
        r(r#"{{ lt 1 2 }} {{ le 2 2 }} {{ gt 2.5 1.5 }} {{ ge "b" "a" }}"#),
        "true true true true"
    );
    assert_eq!(
        r(r#"{{ eq (add 1 2) 3 }} {{ gt (int .status) 499 }}"#),
        "true true"
    );
    // Go does not compare ints with floats, or strings with numbers.
    assert!(err("{{ eq 1 1.0 }}").ends_with("error calling eq: incompatible types for comparison"));
    assert!(err(r#"{{ gt .status 499 }}"#).ends_with("incompatible types for comparison"));
    assert!(err(r#"{{ lt true false }}"#).ends_with("invalid type for comparison"));
}

#[test]
fn builtin_len_index_slice() {
    assert_eq!(
        r("{{ len .path }} {{ len (fromJson .json).b }} {{ len (fromJson .json) }}"),
        "9 3 4"
    );
    assert_eq!(
        r(
            r#"{{ index (fromJson .json).b 2 }} {{ index (fromJson .json) "c" "d" }} {{ index . "status" }} {{ index .path 1 }}"#
        ),
        "x <no value> 503 118"
    );
    assert!(err(r#"{{ index (fromJson .json).b 5 }}"#)
        .ends_with("error calling index: index out of range: 5"));
    assert!(err("{{ len 3 }}").ends_with("error calling len: len of type int"));
    assert_eq!(
        r(r#"{{ slice .path 1 3 }} {{ slice (fromJson .json).b 1 }}"#),
        "v1 [2.5 x]"
    );
}

#[test]
fn builtin_print_family() {
    assert_eq!(r(r#"{{ print "a" 1 2 "b" }}"#), "a1 2b");
    assert_eq!(r(r#"{{ println "a" 1 }}"#), "a 1\n");
    // doc (printf).
    assert_eq!(
        r(r#"{{ printf "The IP address was %s" .path }}"#),
        "The IP address was /v1/items"
    );
    assert_eq!(
        r(r#"{{ printf "%-12.12s|%5.5s|" .path "GET" }}"#),
        "/v1/items   |  GET|"
    );
    assert_eq!(
        r(
            r#"{{ printf "%d %5d %-4d| %05d %x %X %o %b %c %q %U" 42 42 42 -42 255 255 8 5 65 65 65 }}"#
        ),
        "42    42 42  | -0042 ff FF 10 101 A 'A' U+0041"
    );
    assert_eq!(
        r(
            r#"{{ printf "%f %.2f %8.3f %e %g %v %v" 3.14159 3.14159 3.14159 1234.5 0.000012 (divf 1 3) 2.0 }}"#
        ),
        "3.141590 3.14    3.142 1.234500e+03 1.2e-05 0.3333333333333333 2"
    );
    assert_eq!(
        r(r#"{{ printf "%t %v %q %x %s %T %T %%" true false "a\"b" "hi" 5 5 .path }}"#),
        "true false \"a\\\"b\" 6869 %!s(int=5) int string %"
    );
    assert_eq!(
        r(r#"{{ printf "%d %s" "x" }}"#),
        "%!d(string=x) %!s(MISSING)"
    );
    assert_eq!(r(r#"{{ printf "%d" 1 2 }}"#), "1%!(EXTRA int=2)");
    assert_eq!(
        r(r#"{{ printf "%v %v" (fromJson .json).c (fromJson .json).b }}"#),
        "map[d:<nil>] [1 2.5 x]"
    );
    assert_eq!(r(r#"{{ printf "%*d|%.*f" 4 7 1 2.25 }}"#), "   7|2.2");
}

/// Precisions over 65,535 (Rust's formatter refuses them and panics) print
/// every digit, as Go does: the exact expansion, then zeros.
#[test]
fn printf_huge_precisions_print_every_digit() {
    let f = r(r#"{{ printf "%.70000f" 0.1 }}"#);
    assert_eq!(f.len(), 2 + 70000);
    // 0.1 as an f64 is 0.1000000000000000055511151231257827…, exactly
    // 55 fractional digits, then zeros.
    assert!(
        f.starts_with("0.1000000000000000055511151231257827021181583404541015625000"),
        "{}",
        &f[..80]
    );
    assert!(f[57..].bytes().all(|b| b == b'0'));
    let e = r(r#"{{ printf "%.70000e" 2.5 }}"#);
    assert_eq!(e.len(), 70000 + 6);
    assert!(
        e.starts_with("2.5000") && e.ends_with("0e+00"),
        "{}",
        &e[e.len() - 10..]
    );
    assert_eq!(r(r#"{{ printf "%.70000g" 0.5 }}"#), "0.5");
    // Go's strconv 'g': a precision past the exact digits of an integral
    // value prints the value's exact digits, without exponent.
    assert_eq!(
        r(r#"{{ printf "%.70000v" 1e300 }}"#),
        "1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160"
    );
    let d = r(r#"{{ printf "%.70000d" 7 }}"#);
    assert_eq!(d.len(), 70000);
}

#[test]
fn builtin_escapers() {
    assert_eq!(
        r(r#"{{ html "<a href='x'>&\"" }}"#),
        "&lt;a href=&#39;x&#39;&gt;&amp;&#34;"
    );
    assert_eq!(
        r(r#"{{ js "it's <b>\"=&\\" }}"#),
        r#"it\'s \u003Cb\u003E\"\u003D\u0026\\"#
    );
    assert_eq!(
        r(r#"{{ urlquery "a b&c" }} {{ .url | urlquery }}"#),
        "a+b%26c a+b%26c%3Dd%2F%C3%A9"
    );
    assert!(
        err(r#"{{ call .status }}"#).ends_with("error calling call: non-function of type string")
    );
}

// ---- Loki's own functions ----

#[test]
fn line_and_timestamp() {
    // doc: {{ __line__ | lower }}
    assert_eq!(r("{{ __line__ | lower }}"), "the line");
    assert_eq!(
        r("{{ __timestamp__ }}"),
        "2021-11-02 03:04:05.123456789 +0000 UTC"
    );
    // doc: {{ __timestamp__ | date "2006-01-02T15:04:05.00Z-07:00" }}
    assert_eq!(
        r(r#"{{ __timestamp__ | date "2006-01-02T15:04:05.00Z-07:00" }}"#),
        "2021-11-02T03:04:05.12Z+00:00"
    );
    assert_eq!(r("{{ __timestamp__ | unixEpoch }}"), "1635822245");
    assert_eq!(
        r(
            r#"{{ __timestamp__.Unix }} {{ __timestamp__.Format "15:04" }} {{ (__timestamp__).Year }}"#
        ),
        "1635822245 03:04 2021"
    );
}

#[test]
fn go_strings_functions() {
    assert_eq!(
        r(r#"{{ ToLower "HeLLo" }} {{ ToUpper "héllo" }}"#),
        "hello HÉLLO"
    );
    assert_eq!(
        r(r#"{{ Replace "oink oink oink" "k" "ky" 2 }} {{ Replace "oink oink" "oink" "moo" -1 }}"#),
        "oinky oinky oink moo moo"
    );
    assert_eq!(
        r(
            r#"{{ Trim "¡¡Hello!!" "!¡" }} {{ TrimLeft "xxhixx" "x" }} {{ TrimRight "xxhixx" "x" }}"#
        ),
        "Hello hixx xxhi"
    );
    assert_eq!(
        r(r#"{{ TrimPrefix .path "/v1" }} {{ TrimSuffix .path "items" }} [{{ TrimSpace .lvl }}]"#),
        "/items /v1/ [warn]"
    );
}

#[test]
fn regex_functions() {
    // doc: count "a|b" "abab" → 4; count "o" "foo" → 2.
    assert_eq!(
        r(r#"{{ count "a|b" "abab" }} {{ count "o" "foo" }} {{ __line__ | count "e" }}"#),
        "4 2 2"
    );
    // doc: regexReplaceAll "(a*)bc" … "${1}a"
    assert_eq!(
        r(r#"{{ regexReplaceAll "(a*)bc" "aabcxbc" "${1}a" }}"#),
        "aaaxa"
    );
    // Go reads `$1a` as the group named "1a" (empty), like Go's Expand.
    assert_eq!(
        r(r#"{{ regexReplaceAll "(a)(b)" "ab" "$1a|$2|$$|${2}x|$" }}"#),
        "|b|$|bx|$"
    );
    assert_eq!(
        r(r#"{{ regexReplaceAll "(?P<v>\\d+)" "a12b3" "<${v}>" }}"#),
        "a<12>b<3>"
    );
    assert_eq!(r(r#"{{ regexReplaceAll "x*" "abc" "-" }}"#), "-a-b-c-");
    assert_eq!(
        r(r#"{{ regexReplaceAllLiteral "(ts=)" "ts=1" "$1timestamp=" }}"#),
        "$1timestamp=1"
    );
    // RE2's \d and \w are ASCII-only.
    assert_eq!(
        r(r##"{{ regexReplaceAll "\\d" "1٣" "#" }} {{ regexReplaceAll "\\w+" "é_a" "W" }}"##),
        "#٣ éW"
    );
    assert!(err(r#"{{ regexReplaceAll "(" "x" "y" }}"#)
        .contains("error calling regexReplaceAll: error parsing regexp"));
}

#[test]
fn url_functions() {
    assert_eq!(r(r#"{{ .url | urlencode }}"#), "a+b%26c%3Dd%2F%C3%A9");
    assert_eq!(r(r#"{{ urldecode "a+b%26c%3Dd%2F%C3%A9" }}"#), "a b&c=d/é");
    assert!(err(r#"{{ urldecode "100%zz" }}"#)
        .ends_with(r#"error calling urldecode: invalid URL escape "%zz""#));
}

#[test]
fn bytes_and_duration() {
    assert_eq!(
        r(r#"{{ bytes "42 MB" }} {{ "1KiB" | bytes }}"#),
        "4.2e+07 1024"
    );
    assert_eq!(
        r(r#"{{ duration "1m30s" }} {{ duration_seconds "250ms" }}"#),
        "90 0.25"
    );
    assert!(err(r#"{{ duration "x" }}"#).contains("error calling duration: time: invalid duration"));
}

#[test]
fn epoch_functions() {
    assert_eq!(
        r(r#"{{ .ts | toDateInZone "2006-01-02T15:04:05Z07:00" "UTC" | unixEpochMillis }}"#),
        "1635847200000"
    );
    assert_eq!(
        r(r#"{{ .ts | toDateInZone "2006-01-02T15:04:05Z07:00" "UTC" | unixEpochNanos }}"#),
        "1635847200000000000"
    );
    // doc: toDateInZone "2006-01-02" "UTC" "2021-11-02"
    assert_eq!(
        r(r#"{{ toDateInZone "2006-01-02" "UTC" "2021-11-02" }}"#),
        "2021-11-02 00:00:00 +0000 UTC"
    );
    // doc (unixToTime): from="{{date "2006-01-02" (unixToTime .from)}}"
    assert_eq!(
        r(r#"from="{{date "2006-01-02" (unixToTime .from)}}""#),
        r#"from="2023-03-23""#
    );
    assert_eq!(
        r(r#"{{ unixToTime .ms | unixEpochMillis }} {{ unixToTime "19373" | unixEpoch }}"#),
        "1679577215123 1673827200"
    );
    assert!(err(r#"{{ unixToTime "abc" }}"#).ends_with(
        r#"unable to parse time 'abc': strconv.ParseInt: parsing "abc": invalid syntax"#
    ));
    assert!(err(r#"{{ unixToTime "123" }}"#).ends_with("unable to parse time '123': %!w(<nil>)"));
}

#[test]
fn align_functions() {
    // doc: alignLeft 5 "hello world" → "hello"; alignLeft 5 "hi" → "hi   ".
    assert_eq!(
        r(r#"[{{ alignLeft 5 "hello world"}}][{{ alignLeft 5 "hi"}}]"#),
        "[hello][hi   ]"
    );
    // doc: alignRight 5 "hello world" → "world"; alignRight 5 "hi" → "   hi".
    assert_eq!(
        r(r#"[{{ alignRight 5 "hello world"}}][{{ alignRight 5 "hi"}}][{{ alignRight -1 "hi" }}]"#),
        "[world][   hi][hi]"
    );
}

// ---- sprig functions ----

#[test]
fn sprig_base64() {
    assert_eq!(
        r(r#"{{ "hello" | b64enc }} {{ b64enc "hi" }} {{ b64enc "" }}|"#),
        "aGVsbG8= aGk= |"
    );
    assert_eq!(r(r#"{{ .b64 | b64dec }} {{ b64dec "aGk=" }}"#), "hello hi");
    // The decoder's error is the result.
    assert_eq!(
        r(r#"{{ b64dec "a" }}|{{ b64dec "a!==" }}"#),
        "illegal base64 data at input byte 0|illegal base64 data at input byte 1"
    );
    // Loki's fmt_test.go "base64decode missing padding": Loki's own
    // base64Decode pads the input first.
    assert_eq!(
        r(r#"{{ b64dec "Zm9vYmE" }} {{ b64dec "Zm9vYg" }} {{ b64dec "aGk" }}"#),
        "fooba foob hi"
    );
}

#[test]
fn sprig_case() {
    // doc: lower "HELLO" → hello; upper "hello" → HELLO; title "hello world" → Hello World.
    assert_eq!(
        r(
            r#"{{ lower "HELLO" }} {{ upper "hello" }} {{ title "hello world" }} {{ title "o'neil is_here-now" }}"#
        ),
        "hello HELLO Hello World O'Neil Is_here-Now"
    );
}

#[test]
fn sprig_trunc_substr() {
    // doc: trunc 5 "hello world" → hello; trunc -5 → world.
    assert_eq!(
        r(
            r#"{{ trunc 5 "hello world"}} {{ trunc -5 "hello world"}} {{ trunc 50 "hi" }} {{ trunc -50 "hi" }}"#
        ),
        "hello world hi hi"
    );
    // doc: substr 0 5 "hello world" → hello; substr 6 11 → world.
    assert_eq!(
        r(
            r#"{{ substr 0 5 "hello world"}} {{ substr 6 11 "hello world"}} {{ .path | substr 2 5 }} [{{ substr 5 2 "abcdef" }}] {{ substr -1 2 "abc" }} {{ substr 1 -1 "abc" }}"#
        ),
        "hello world 1/i [] ab bc"
    );
    assert_eq!(r(r#"{{ trunc 2 "héllo" }}"#), "hé");
    assert_eq!(r("{{ trunc -9223372036854775808 .path }}"), "/v1/items");
}

#[test]
fn sprig_predicates() {
    assert_eq!(
        r(
            r#"{{ contains "he" "hello" }} {{ hasPrefix "he" "hello" }} {{ hasSuffix "lo" "hello" }} {{ hasSuffix .err "Timeout" }}"#
        ),
        "true true true false"
    );
}

#[test]
fn sprig_indent() {
    assert_eq!(r(r#"{{ indent 2 .multi }}"#), "  a\n  b");
    assert_eq!(r(r#"{{ nindent 2 .multi }}"#), "\n  a\n  b");
}

#[test]
fn sprig_replace_repeat() {
    // doc: replace "hello" "world" "hello world" → world world; repeat 3 "hello".
    assert_eq!(
        r(r#"{{ replace "hello" "world" "hello world" }} {{ repeat 3 "hello" }}"#),
        "world world hellohellohello"
    );
    assert!(err(r#"{{ repeat -1 "x" }}"#)
        .ends_with("error calling repeat: strings: negative Repeat count"));
    assert!(err(r#"{{ repeat 1000000000 "xx" }}"#).contains("error calling repeat"));
}

#[test]
fn sprig_trims() {
    // doc: trim "   hello    " → hello; trimAll "$" "$5.00" → 5.00;
    // trimPrefix "-" "-hello" → hello; trimSuffix "-" "hello-" → hello.
    assert_eq!(
        r(
            r#"{{ trim "   hello    " }} {{ trimAll "$" "$5.00" }} {{ trimPrefix "-" "-hello" }} {{ trimSuffix "-" "hello-" }} {{ .path | trimAll "/" }}"#
        ),
        "hello 5.00 hello hello v1/items"
    );
}

#[test]
fn sprig_conversions() {
    // doc: "3" | int → 3; "3.5" | float64 → 3.5.
    assert_eq!(
        r(
            r#"{{ "3" | int }} {{ "3.5" | float64 }} {{ int .hex }} {{ int "12.00" }} {{ int "abc" }} {{ int 3.9 }} {{ float64 "x" }}"#
        ),
        "3 3.5 31 12 0 3 0"
    );
}

#[test]
fn sprig_integer_math() {
    // doc: add 3 2 5 → 10; sub 5 2 → 3; mul 5 2 3 → 30; div 10 2 → 5; mod 10 3 → 1;
    // max 1 2 3 → 3; min 1 2 3 → 1.
    assert_eq!(r("{{ add 3 2 5 }} {{ sub 5 2 }} {{ mul 5 2 3 }} {{ div 10 2 }} {{ mod 10 3 }} {{ max 1 2 3 }} {{ min 1 2 3 }}"), "10 3 30 5 1 3 1");
    // cast.ToInt64: label strings parse, unparsable ones are 0, floats truncate.
    assert_eq!(
        r(r#"{{ add .n "abc" 1.9 }} {{ sub .status 3 }} {{ div 7 -2 }} {{ mod -7 3 }} {{ add }}"#),
        "13 500 -3 -1 0"
    );
    assert!(
        err("{{ mod 1 0 }}").ends_with("error calling mod: runtime error: integer divide by zero")
    );
}

#[test]
fn sprig_float_math() {
    // doc: addf 3.5 2 5 → 10.5; subf 5.5 2 1.5 → 2; mulf 5.5 2 2.5 → 27.5;
    // divf 10 2 4 → 1.25; maxf 1 2.5 3 → 3; minf 1 2.5 3 → 1 (the doc's
    // "1.5" is a typo: Go prints 1).
    assert_eq!(r("{{ addf 3.5 2 5 }} {{ subf 5.5 2 1.5 }} {{ mulf 5.5 2 2.5 }} {{ divf 10 2 4 }} {{ maxf 1 2.5 3 }} {{ minf 1 2.5 3 }}"), "10.5 2 27.5 1.25 3 1");
    // shopspring/decimal: exact sums, 16-place quotients.
    assert_eq!(r("{{ addf 0.1 0.2 }} {{ divf 1 3 }} {{ divf 2 3 }} {{ mulf 2 1.5 }} {{ mulf 1000 1000 }} {{ addf .f 1 }}"), "0.3 0.3333333333333333 0.6666666666666667 3 1e+06 3.5");
    assert!(err("{{ divf 1 0 }}").ends_with("error calling divf: decimal division by 0"));
}

#[test]
fn sprig_rounding() {
    // doc: ceil 123.001 → 124 (the doc writes 124.0; Go prints 124);
    // floor 123.9999 → 123; round 123.555555 3 → 123.556;
    // round 123.88571428571 5 .2 → 123.88572.
    assert_eq!(r("{{ ceil 123.001 }} {{ floor 123.9999 }} {{ round 123.555555 3 }} {{ round 123.88571428571 5 .2 }} {{ round 123.88571428571 5 }}"), "124 123 123.556 123.88572 123.88571");
    assert_eq!(r(r#"{{ ceil "1.2" }} {{ round -1.5 0 }}"#), "2 -2");
}

#[test]
fn sprig_from_json() {
    // doc: fromJson "{\"foo\": 55}"
    assert_eq!(r(r#"{{ fromJson "{\"foo\": 55}" }}"#), "map[foo:55]");
    assert_eq!(
        r(r#"{{ fromJson "[1, true, null, \"s\"]" }}"#),
        "[1 true <nil> s]"
    );
    // Bad JSON is nil, not an error.
    assert_eq!(
        r(r#"{{ fromJson "{bad" }}|{{ (fromJson "bad").x }}"#),
        "<no value>|<no value>"
    );
    assert_eq!(
        r(r#"{{ (fromJson .json).b }} {{ fromJson "1e21" }} {{ fromJson "12345678" }}"#),
        "[1 2.5 x] 1e+21 1.2345678e+07"
    );
}

#[test]
fn sprig_dates() {
    // doc: toDate "2006-01-02" "2021-11-02"
    assert_eq!(
        r(r#"{{ toDate "2006-01-02" "2021-11-02" }}"#),
        "2021-11-02 00:00:00 +0000 UTC"
    );
    assert_eq!(
        r(r#"{{ .ts | toDate "2006-01-02T15:04:05Z07:00" | date "Jan 2 15:04:05 MST" }}"#),
        "Nov 2 10:00:00 UTC"
    );
    assert_eq!(
        r(r#"{{ toDate "2006-01-02" "nope" }}"#),
        "0001-01-01 00:00:00 +0000 UTC"
    );
    assert_eq!(
        r(
            r#"{{ toDate "02/01/2006 15:04 -0700" "02/11/2021 10:00 +0900" | date "2006-01-02 15:04 MST" }}"#
        ),
        "2021-11-02 01:00 UTC"
    );
    // date takes a time or Unix seconds.
    assert_eq!(
        r(r#"{{ date "2006-01-02" 0 }} {{ date "Monday" (add 86400 0) }}"#),
        "1970-01-01 Friday"
    );
    // doc: the createDateEpoch example.
    assert_eq!(
        r(r#"{{unixEpoch (toDate "2006-01-02" "2021-11-02")}}"#),
        "1635811200"
    );
    // now is the current time; its year is at least the crate's.
    let y: i64 = r(r#"{{ date "2006" now }}"#).parse().unwrap();
    assert!(y >= 2024);
    assert!(r("{{ unixEpoch now }}").parse::<i64>().unwrap() > 1_700_000_000);
}

#[test]
fn sprig_default() {
    // doc: default "-" "" → -; default "-" "foo" → foo.
    assert_eq!(
        r(
            r#"{{ default "-" "" }} {{ default "-" "foo" }} {{ .missing | default "-" }} {{ default "x" 0 }} {{ default "x" }}"#
        ),
        "- foo - x x"
    );
}

#[test]
fn no_panics_on_hostile_input() {
    for t in [
        "{{",
        "}}",
        "{{{{}}}}",
        "{{ ( }}",
        "{{ ) }}",
        "{{ $ }}",
        "{{ . . }}",
        "{{ 0x }}",
        "{{ 1e }}",
        "{{ '' }}",
        "{{ 'ab' }}",
        "{{ \"\\z\" }}",
        "{{ if }}{{ end }}",
        "{{ range }}{{ end }}",
        "{{ else }}",
        "{{ with $x := 1 }}{{ end }}{{ $x }}",
        "{{ index }}",
        "{{ slice .path 5 1 }}",
        "{{ printf }}",
        "{{ printf \"%\" }}",
        "{{ printf \"%!\" 1 }}",
        "{{ substr 99 -99 .path }}",
        "{{ toDate \"2006-01-02\" \"2021-02-30\" }}",
        "{{ date \"__2 002 .000 ,999 Z070000\" __timestamp__ }}",
        "{{ unixToTime \"-9223372036854775808\" }}",
        "{{ template }}",
        "{{ define \"x\" }}",
        "{{ 99999999999999999999 }}",
        "{{ -9223372036854775808 | printf \"%d %x\" }}",
        "{{ div -9223372036854775808 -1 }}",
    ] {
        if let Ok(tpl) = Template::parse(t) {
            let _ = tpl.render(&DATA, &mut String::new());
        }
    }
}

/// A render runs at most 100,000 `range` iterations, all loops together:
/// a template runs once per line, so one line cannot take seconds.
#[test]
fn range_iterations_are_bounded_per_render() {
    assert_eq!(r("{{range 100000}}{{end}}ok"), "ok");
    assert!(err("{{range 100001}}{{end}}").contains("range over too many elements"));
    // Nested loops count together: 400 + 400 × 400 > 100,000.
    let e = err("{{range 400}}{{range 400}}{{end}}{{end}}");
    assert!(e.contains("range over too many elements"), "{e}");
    // So do loops over a collection (a JSON array of 100,001 items).
    let e = err(r#"{{range fromJson (printf "[%s0]" (repeat 100000 "0,"))}}{{end}}"#);
    assert!(e.contains("range over too many elements"), "{e}");
}

/// Each `repeat` is capped at 16 MiB and a render at 100,000 `range`
/// iterations, but together they allowed 1.6 TB of copying (or scanning) in
/// one render: function work is bounded per render too.
#[test]
fn range_of_long_string_calls_stops_at_the_work_limit() {
    for t in [
        r#"{{range 100000}}{{$x := repeat 16000000 "x"}}{{end}}"#,
        r#"{{$b := repeat 16000000 "x"}}{{range 100000}}{{if contains "y" $b}}{{end}}{{end}}"#,
    ] {
        let start = std::time::Instant::now();
        let e = err(t);
        assert!(e.contains("exceed"), "{t:?}: {e}");
        assert!(
            start.elapsed().as_secs() < 10,
            "{t:?} took {:?}",
            start.elapsed()
        );
    }
    // Ordinary heavy use stays well inside the budget.
    assert_eq!(
        r(r#"{{range 1000}}{{$x := repeat 1000 "x"}}{{end}}ok"#),
        "ok"
    );
}
