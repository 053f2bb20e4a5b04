//! `profbench external` and `profbench burn --pprof`, end to end through
//! the binary: real profiles, a hand-made fixture, and broken inputs that
//! must exit 2 with one line, never print a ratio.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{one_line_failure, profbench, BIN};
use harness::pprof_proto::{
    gzip, read_profile, Function, Line, Location, Profile, Sample, ValueType,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The committed fixture, `tests/fixtures/go-cpu-10-samples.pb[.gz]`: a
/// CPU profile shaped like Go's `runtime/pprof` output (`samples/count` and
/// `cpu/nanoseconds`, period 10 ms of `cpu/nanoseconds`, no thread labels),
/// 10 samples in three stacks, so 100 ms of CPU. Its window (1 s starting
/// 2023-11-14) lies outside any child's life. Regenerate the files with
/// `PROFBENCH_WRITE_FIXTURES=1 cargo test --test external fixture`.
fn fixture_recipe() -> Profile {
    let strings = [
        "",
        "samples",
        "count",
        "cpu",
        "nanoseconds",
        "main.burn",
        "main.main",
        "burn.go",
    ];
    let function = |id: u64, name: i64| Function {
        id,
        name,
        system_name: name,
        filename: 7,
    };
    let location = |id: u64, line: i64| Location {
        id,
        address: 0x40_1000 + id * 0x10,
        line: vec![Line {
            function_id: id,
            line,
        }],
    };
    let sample = |stack: &[u64], n: i64| Sample {
        location_id: stack.to_vec(),
        value: vec![n, n * 10_000_000],
        label: vec![],
    };
    Profile {
        sample_type: vec![
            ValueType { r#type: 1, unit: 2 },
            ValueType { r#type: 3, unit: 4 },
        ],
        sample: vec![sample(&[1, 2], 4), sample(&[1, 2], 3), sample(&[2], 3)],
        location: vec![location(1, 12), location(2, 30)],
        function: vec![function(1, 5), function(2, 6)],
        string_table: strings.iter().map(|s| s.to_string()).collect(),
        time_nanos: 1_700_000_000_000_000_000,
        duration_nanos: 1_000_000_000,
        period_type: Some(ValueType { r#type: 3, unit: 4 }),
        period: 10_000_000,
        default_sample_type: 0,
    }
}

fn fixture(gz: bool) -> PathBuf {
    fixtures().join(if gz {
        "go-cpu-10-samples.pb.gz"
    } else {
        "go-cpu-10-samples.pb"
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `profbench external --profile OUT [extra..] -- sh -c SCRIPT sh ARGS..`.
fn external_sh(out: &Path, extra: &[&str], script: &str, script_args: &[&str]) -> Output {
    let out = out.to_str().unwrap();
    let mut args = vec!["external", "--profile", out];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "sh", "-c", script, "sh"]);
    args.extend_from_slice(script_args);
    profbench(&args)
}

/// A `key  value` line of external's report.
fn field<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(key).filter(|rest| rest.starts_with("  ")))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no '{key}' line in:\n{stdout}"))
}

fn assert_one_line_error(o: &Output, code: i32, needle: &str) {
    let stderr = one_line_failure(o, code, "external");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(needle), "{stderr:?} lacks {needle:?}");
    assert!(
        !text(&o.stdout).contains("ratio"),
        "printed a ratio: {}",
        text(&o.stdout)
    );
}

#[test]
fn fixture_is_its_recipe() {
    if std::env::var_os("PROFBENCH_WRITE_FIXTURES").is_some() {
        let bytes = fixture_recipe().to_bytes();
        std::fs::write(fixture(false), &bytes).unwrap();
        std::fs::write(fixture(true), gzip(&bytes)).unwrap();
    }
    for gz in [false, true] {
        let bytes = std::fs::read(fixture(gz)).unwrap();
        assert_eq!(read_profile(&bytes).unwrap(), fixture_recipe(), "gz: {gz}");
    }
}

#[test]
fn external_reads_the_fixture_plain_and_gzipped() {
    let dir = tempfile::tempdir().unwrap();
    for gz in [false, true] {
        let out = dir.path().join(if gz { "p.pb.gz" } else { "p.pb" });
        let src = fixture(gz);
        let o = external_sh(
            &out,
            &[],
            r#"cp "$1" "$2""#,
            &[src.to_str().unwrap(), out.to_str().unwrap()],
        );
        let stdout = text(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{}\n{stdout}", text(&o.stderr));
        assert!(
            field(&stdout, "profile").contains("10 samples in 3 records"),
            "{stdout}"
        );
        assert!(field(&stdout, "profile").contains("samples/count, cpu/nanoseconds"));
        assert_eq!(field(&stdout, "period"), "10.000 ms (100.0 Hz)");
        assert_eq!(field(&stdout, "duration"), "1.000 s wall");
        assert!(
            field(&stdout, "profiled CPU").starts_with("0.100 s"),
            "{stdout}"
        );
        // `cp` burns about a millisecond: 100 ms of samples is inflation.
        assert_eq!(field(&stdout, "verdict"), "inflated");
        // The fixture's window is in 2023: no CPU of this child lies in it.
        assert!(field(&stdout, "in its window").starts_with("unknown"));
        assert!(!stdout.contains("flag"), "{stdout}");
    }
}

#[test]
fn external_flags_a_period_other_than_the_rate_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.pb.gz");
    let src = fixture(true);
    let args = [src.to_str().unwrap(), out.to_str().unwrap()];
    let o = external_sh(&out, &["--hz", "250"], r#"cp "$1" "$2""#, &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        field(&stdout, "flag").contains("10.000 ms (100.0 Hz), not the 4.000 ms of --hz 250"),
        "{stdout}"
    );
    let o = external_sh(&out, &["--hz", "100"], r#"cp "$1" "$2""#, &args);
    assert!(!text(&o.stdout).contains("flag"), "{}", text(&o.stdout));
}

#[test]
fn broken_profiles_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let gz = std::fs::read(fixture(true)).unwrap();
    // Deterministic noise: no seed, no flakiness.
    let noise: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761).rotate_left(7) >> 11) as u8)
        .collect();
    let mut heap = fixture_recipe();
    heap.string_table[1] = "objects".into();
    heap.string_table[3] = "space".into();
    heap.string_table[4] = "bytes".into();
    let cases: Vec<(&str, Option<Vec<u8>>, &str)> = vec![
        ("missing", None, "cannot read the profile"),
        ("empty", Some(Vec::new()), "is empty"),
        (
            "truncated gzip",
            Some(gz[..gz.len() / 2].to_vec()),
            "gzipped but does not decompress",
        ),
        ("random bytes", Some(noise), "pprof profile"),
        ("a heap profile", Some(heap.to_bytes()), "no CPU time"),
    ];
    for (name, content, needle) in cases {
        let out = dir.path().join(format!("{}.pb", name.replace(' ', "-")));
        let o = match &content {
            None => external_sh(&out, &[], "true", &[]),
            Some(bytes) => {
                let src = dir.path().join("src.bin");
                std::fs::write(&src, bytes).unwrap();
                external_sh(
                    &out,
                    &[],
                    r#"cp "$1" "$2""#,
                    &[src.to_str().unwrap(), out.to_str().unwrap()],
                )
            }
        };
        assert_one_line_error(&o, 2, needle);
        eprintln!("{name}: {}", text(&o.stderr).trim());
    }
}

#[test]
fn a_profile_the_command_did_not_rewrite_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("old.pb.gz");
    std::fs::copy(fixture(true), &out).unwrap();
    let o = external_sh(&out, &[], "true", &[]);
    assert_one_line_error(&o, 2, "did not rewrite it");
}

#[test]
fn command_failures_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.pb");
    let o = external_sh(&out, &[], "exit 3", &[]);
    assert_one_line_error(&o, 1, "exited with status 3");
    let o = external_sh(&out, &[], "kill -KILL $$", &[]);
    assert_one_line_error(&o, 1, "killed by signal 9");
    let o = profbench(&[
        "external",
        "--profile",
        out.to_str().unwrap(),
        "--",
        "/nonexistent/profiler-target",
    ]);
    assert_one_line_error(&o, 2, "cannot run /nonexistent/profiler-target");
    // No command at all is a usage error.
    let o = profbench(&["external", "--profile", out.to_str().unwrap()]);
    one_line_failure(&o, 2, "external without a command");
}

#[test]
fn burn_options_are_checked_before_burning() {
    let o = profbench(&["burn", "--hz", "50"]);
    assert_one_line_error(&o, 2, "--hz applies only with --pprof");
    let o = profbench(&[
        "run",
        "--modes",
        "pprof-rs+overrun",
        "--out",
        "/nonexistent/x",
    ]);
    let stderr = one_line_failure(&o, 2, "run --modes pprof-rs+overrun");
    assert!(stderr.contains("takes no options"), "{stderr}");
}

/// pprof-rs profiling `profbench burn`, read back by `external`: the whole
/// chain with a real profiler, no toolchain beyond Rust.
#[test]
fn external_measures_burn_under_pprof_rs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("burn.pb.gz");
    let out_s = out.to_str().unwrap();
    let o = profbench(&[
        "external",
        "--profile",
        out_s,
        "--hz",
        "100",
        "--threads",
        "2",
        "--",
        BIN,
        "burn",
        "--threads",
        "2",
        "--cpu-seconds",
        "1",
        "--pprof",
        out_s,
    ]);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}\n{stdout}", text(&o.stderr));
    // burn's own lines come first (the child shares stdout), then the report.
    assert!(stdout.contains("pprof-rs at 100 Hz:"), "{stdout}");
    assert!(
        field(&stdout, "profile").contains("samples/count, cpu/nanoseconds"),
        "{stdout}"
    );
    assert_eq!(field(&stdout, "period"), "10.000 ms (100.0 Hz)");
    assert!(!stdout.contains("flag"), "{stdout}");
    // 1 CPU s at 100 Hz is 100 samples. Inside the profile's window the
    // ratio is pprof-rs's sampling alone; the bound is wide (±30 %) because
    // this runs on a shared 2-core machine, and it is there to catch a
    // broken chain (no samples, a wrong period, a window not found), not
    // to grade pprof-rs: `profbench run --modes pprof-rs` does that.
    let window = field(&stdout, "in its window");
    let ratio: f64 = window
        .split("ratio ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no window ratio in {window:?}"));
    assert!(
        (0.7..=1.3).contains(&ratio),
        "window ratio {ratio}: {stdout}"
    );
    let profile = read_profile(&std::fs::read(&out).unwrap()).unwrap();
    assert!(profile.sample.iter().all(|s| s.value.len() == 2));
}
