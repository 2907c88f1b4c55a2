//! The binary under stress: memory limits refuse a fit with a message, SIGINT/SIGTERM stop a
//! fit and leave no partial model folder, an interrupted save leaves the old model or the new
//! one whole, and two fits writing one `--out` at once do not mix.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_credence"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A CSV of the first `rows` rows of the bundled yacht data.
fn yacht_csv(dir: &Path, rows: usize) -> String {
    let text = std::fs::read_to_string(repo().join("data/yacht/data.txt")).unwrap();
    let mut out = String::from("lcb,prismatic,ld,bd,lb,froude,resistance\n");
    for line in text.lines().filter(|l| !l.trim().is_empty()).take(rows) {
        out.push_str(&line.split_whitespace().collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    let p = dir.join("yacht.csv");
    std::fs::write(&p, out).unwrap();
    p.display().to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn fit_args<'a>(data: &'a str, cfg: &'a str, out: &'a str, seed: &'a str) -> Vec<&'a str> {
    vec![
        "fit",
        "--data",
        data,
        "--target",
        "resistance",
        "--config",
        cfg,
        "--out",
        out,
        "--seed",
        seed,
        "--quiet",
    ]
}

fn spawn(args: &[&str]) -> Child {
    bin()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let s = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(s.success());
}

/// Waits for `child` (a hang guard of 60 s, not a timing check), returning status and stderr.
fn finish(mut child: Child) -> (ExitStatus, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (status, String::from_utf8_lossy(&out.stderr).into_owned());
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the process did not stop within 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Entries of `dir` whose names start with `.NAME.` (staging folders, lock files).
fn leftovers(dir: &Path, name: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{name}.")))
        .collect()
}

/// The seed recorded in the model at `out`, after checking `credence predict` loads it.
fn model_seed(out: &str, data: &str) -> u64 {
    let o: Output = bin()
        .args(["predict", "--model", out, "--data", data])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "predict on {out}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Path::new(out).join("model.json")).unwrap()).unwrap();
    rec["seed"].as_u64().unwrap()
}

#[test]
fn max_memory_and_an_oversized_network_are_refused_with_a_message() {
    let t = tempfile::tempdir().unwrap();
    let data = yacht_csv(t.path(), 120);
    let cfg = write(
        t.path(),
        "fast.toml",
        "[model]\nhidden = [10]\n[training]\nepochs = 5\n",
    );
    let out = t.path().join("m");
    let o = out.to_str().unwrap();
    let mut args = fit_args(&data, &cfg, o, "0");
    args.extend(["--max-memory", "20K"]);
    let r = bin().args(&args).output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(
        err.contains("not enough memory")
            && err.contains("the limit set by max_memory (--max-memory) is 20.5 kB")
            && err.contains("model.hidden"),
        "{err}"
    );
    assert!(!out.exists() && leftovers(t.path(), "m").is_empty());
    // The same fit under a generous limit succeeds.
    let mut args = fit_args(&data, &cfg, o, "0");
    args.extend(["--max-memory", "1G"]);
    assert!(bin().args(&args).status().unwrap().success());
    // A bad size is a usage error naming the expected form.
    let mut args = fit_args(&data, &cfg, o, "0");
    args.extend(["--max-memory", "plenty"]);
    let r = bin().args(&args).output().unwrap();
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("4G, 512M"));
    // The network of the issue: a message, no abort or backtrace.
    let big = write(t.path(), "big.toml", "[model]\nhidden = [100000000]\n");
    let r = bin().args(fit_args(&data, &big, o, "0")).output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(
        err.contains("hidden = [100000000]")
            && err.contains("needs at least")
            && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn sigint_during_a_fit_stops_it_and_leaves_no_model_folder() {
    let t = tempfile::tempdir().unwrap();
    let data = yacht_csv(t.path(), 120);
    // Long enough to be running when the signal comes (minutes if it were not stopped).
    let cfg = write(
        t.path(),
        "slow.toml",
        "[model]\nhidden = [50]\n[training]\nepochs = 1000000\npatience = 1000000\n",
    );
    let out = t.path().join("m");
    for sig in ["-INT", "-TERM"] {
        let child = spawn(&fit_args(&data, &cfg, out.to_str().unwrap(), "0"));
        std::thread::sleep(Duration::from_millis(400));
        let sent = Instant::now();
        signal(&child, sig);
        let (status, err) = finish(child);
        eprintln!("{sig}: stopped {:?} after the signal", sent.elapsed());
        assert_eq!(status.code(), Some(130), "{err}");
        assert!(err.contains("interrupted"), "{err}");
        assert!(!out.exists(), "a model folder was left");
        assert!(
            leftovers(t.path(), "m").is_empty(),
            "{:?}",
            leftovers(t.path(), "m")
        );
    }
}

#[test]
fn an_interrupted_save_leaves_the_old_model_or_the_new_one_whole() {
    let t = tempfile::tempdir().unwrap();
    let data = yacht_csv(t.path(), 60);
    let cfg = write(
        t.path(),
        "tiny.toml",
        "[model]\nhidden = [5]\n[training]\nepochs = 3\n",
    );
    let out = t.path().join("m");
    let o = out.to_str().unwrap();
    let start = Instant::now();
    assert!(bin()
        .args(fit_args(&data, &cfg, o, "1"))
        .status()
        .unwrap()
        .success());
    // Signals spread over one fit's duration (seeded), so some land during the save.
    let span = start.elapsed().as_micros().max(1000) as u64;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let (mut old, mut new) = (0, 0);
    for i in 0..20 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let delay = state % (span + span / 4);
        let child = spawn(&fit_args(&data, &cfg, o, "2"));
        std::thread::sleep(Duration::from_micros(delay));
        signal(&child, if i % 2 == 0 { "-INT" } else { "-TERM" });
        let (status, err) = finish(child);
        // Done, stopped by the handler, or (a signal before main installed it) by the signal.
        assert!(
            status.success() || status.code() == Some(130) || status.signal().is_some(),
            "{status:?}: {err}"
        );
        match model_seed(o, &data) {
            1 => old += 1,
            2 => new += 1,
            s => panic!("seed {s}"),
        }
        assert!(
            leftovers(t.path(), "m").is_empty(),
            "{:?}",
            leftovers(t.path(), "m")
        );
        if new > 0 {
            // Put the old model back for the next round.
            assert!(bin()
                .args(fit_args(&data, &cfg, o, "1"))
                .status()
                .unwrap()
                .success());
        }
    }
    eprintln!("old model kept {old} times, new model in place {new} times");
}

#[test]
fn two_fits_writing_one_folder_one_wins_the_other_reports_the_conflict() {
    let t = tempfile::tempdir().unwrap();
    let data = yacht_csv(t.path(), 120);
    let slow = write(
        t.path(),
        "slow.toml",
        "[model]\nhidden = [20]\n[training]\nepochs = 1500\npatience = 1500\n",
    );
    let fast = write(
        t.path(),
        "fast.toml",
        "[model]\nhidden = [5]\n[training]\nepochs = 3\n",
    );
    let out = t.path().join("m");
    let o = out.to_str().unwrap();
    let first = spawn(&fit_args(&data, &slow, o, "1"));
    let lock = t.path().join(".m.lock");
    let start = Instant::now();
    while !lock.exists() {
        assert!(start.elapsed() < Duration::from_secs(30), "no lock file");
        std::thread::sleep(Duration::from_millis(2));
    }
    let second = bin().args(fit_args(&data, &fast, o, "2")).output().unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{err}");
    assert!(err.contains("another fit is writing this folder"), "{err}");
    let (status, err) = finish(first);
    assert!(status.success(), "{err}");
    assert_eq!(model_seed(o, &data), 1);
    assert!(leftovers(t.path(), "m").is_empty());
}
