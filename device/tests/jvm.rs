//! The Java bridge on a real JVM (no Android): a scriptable stand-in for
//! `com.tencent.wxpayface.WxPayFace` (tests/java), compiled with `javac` at test time.
//! Each scenario runs in an in-process JVM (natives registered with RegisterNatives);
//! `subprocess_loads_the_cdylib` runs some again in a `java` subprocess that
//! `System.loadLibrary`s the built cdylib.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use facepay_fsm::{Field, JOURNAL_VERSION, JournalError, JournalPhase, JournalRecord, OutTradeNo, PayApi};
use jni::objects::{JString, JValue};
use jni::vm::{InitArgsBuilder, JavaVM};
use jni::{JNIVersion, jni_sig, jni_str};

const INSTALL: &str = "a JDK is needed (javac and java on PATH, or JAVA_HOME): apt-get install default-jdk-headless";

fn java_sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut stack = vec![root.join("java"), root.join("tests/java")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "java") {
                out.push(p);
            }
        }
    }
    out
}

fn tool(name: &str) -> PathBuf {
    if let Some(home) = std::env::var_os("JAVA_HOME").filter(|h| !h.is_empty()) {
        let p = Path::new(&home).join("bin").join(name);
        if p.exists() {
            return p;
        }
    }
    match Command::new(name).arg("-version").output() {
        Ok(_) => PathBuf::from(name),
        Err(e) => panic!("`{name}` not found ({e}); {INSTALL}"),
    }
}

/// Compiles the bridge and the stand-ins once per test process.
fn classes() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("facepay-device-classes");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new(tool("javac"))
            .arg("-Xlint:none")
            .arg("-d")
            .arg(&dir)
            .args(java_sources())
            .output()
            .unwrap_or_else(|e| panic!("javac failed to start: {e}; {INSTALL}"));
        assert!(
            out.status.success(),
            "javac failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// One JVM per test process; the natives registered once.
fn jvm() -> &'static JavaVM {
    static VM: OnceLock<JavaVM> = OnceLock::new();
    VM.get_or_init(|| {
        let args = InitArgsBuilder::new()
            .version(JNIVersion::V1_8)
            .option("-Xcheck:jni")
            .option("-Dfacepay.device.noload=true")
            .option(format!("-Djava.class.path={}", classes().display()))
            .build()
            .unwrap();
        let vm = JavaVM::new(args).unwrap_or_else(|e| panic!("cannot start a JVM: {e}; {INSTALL}"));
        vm.attach_current_thread(facepay_device::bridge::register_natives)
            .unwrap();
        vm
    })
}

/// Scenarios share the SDK stand-in (a singleton, like the real one): one at a time.
fn scenario(name: &str) {
    scenario_with(name, "");
}

/// A scenario that takes an argument (e.g. journal files written here).
fn scenario_with(name: &str, arg: &str) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let vm = jvm();
    let result = vm
        .attach_current_thread(|env| -> jni::errors::Result<String> {
            let cls = env.load_class(jni_str!("com.facepay.device.DeviceScenarios"))?;
            let name = env.new_string(name)?;
            let arg = env.new_string(arg)?;
            let r = env
                .call_static_method(
                    &cls,
                    jni_str!("run"),
                    jni_sig!("(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;"),
                    &[JValue::Object(&name), JValue::Object(&arg)],
                )?
                .l()?;
            env.cast_local::<JString>(r)?.try_to_string(env)
        })
        .unwrap();
    assert_eq!(result, "OK");
}

#[test]
fn happy_path_face_code_type_0_with_pay_result_report() {
    scenario("happy0");
}

#[test]
fn happy_path_face_code_type_1() {
    scenario("happy1");
}

#[test]
fn ambiguous_submit_is_queried_then_reversed_not_before_15s() {
    scenario("ambiguous_submit_reverses");
}

#[test]
fn a_blocking_backend_never_runs_on_the_shared_timer_thread() {
    scenario("backend_off_the_timer_thread");
}

#[test]
fn concurrent_duplicate_and_late_callbacks() {
    scenario("concurrent_duplicate_late");
}

#[test]
fn exceptions_of_the_host_backend_and_listener() {
    scenario("host_exceptions");
}

#[test]
fn release_while_idle_and_while_settling() {
    scenario("release");
}

#[test]
fn malformed_maps_reach_the_machine_as_typed_errors() {
    scenario("malformed_maps");
}

#[test]
fn facade_module_doc_calls_in_order() {
    scenario("facade_doc_order");
}

#[test]
fn facade_refusals_answer_status_false() {
    scenario("facade_refusals");
}

// ── the installed face app, its death, orders without a face (issue 16) ────────────────

#[test]
fn the_installed_face_app_version_decides_the_pay_result_report() {
    scenario("face_app_version");
}

#[test]
fn binder_death_mid_scan_ends_the_order_unsubmitted_and_the_replayed_call_is_stale() {
    scenario("binder_death_mid_scan");
}

#[test]
fn code_only_orders_pay_without_a_face_step() {
    scenario("code_only_orders");
}

#[test]
fn pass_through_calls_are_checked_then_reach_the_sdk_as_given() {
    scenario("pass_through");
}

// ── power loss ──────────────────────────────────────────────────────────────────────────

/// A fresh directory for one test's journal files.
fn journal_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("facepay-journals")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn record(
    out_trade_no: &str,
    phase: JournalPhase,
    elapsed_ms: u32,
    queries: u8,
    reverse_attempts: u8,
) -> JournalRecord {
    JournalRecord {
        version: JOURNAL_VERSION,
        out_trade_no: OutTradeNo::new(Field::OutTradeNo, out_trade_no).unwrap(),
        api: PayApi::Micropay,
        total_fee: 100,
        phase,
        elapsed_ms,
        queries,
        reverse_attempts,
    }
}

#[test]
fn journal_a_submit_abandoned_mid_settling_resumes_in_the_next_session() {
    scenario("journal_abandoned_submit_resumes");
}

#[test]
fn journal_a_rust_written_reversing_record_resumes_through_the_facade() {
    let path = journal_dir("rust_record").join("journal");
    let bytes = record("T-rust-rev", JournalPhase::Reversing, 20_000, 3, 1).encode();
    std::fs::write(&path, bytes).unwrap();
    scenario_with("journal_rust_record_reverses", path.to_str().unwrap());
}

#[test]
fn journal_write_failures_are_reported_and_refuse_new_orders() {
    scenario("journal_write_fails");
}

#[test]
fn journal_write_failure_before_the_submit_withholds_it_and_nothing_is_paid() {
    scenario("journal_submit_withheld");
}

#[test]
fn journal_a_torn_record_resumes_as_ambiguous_and_garbage_is_reported() {
    let dir = journal_dir("torn");
    let torn = dir.join("torn");
    let mut bytes = record("T-torn", JournalPhase::Querying, 12_000, 2, 0).encode();
    bytes[10] ^= 0x40; // total_fee: the CRC no longer matches, the out_trade_no still reads
    assert_eq!(JournalRecord::decode(&bytes), Err(JournalError::Corrupt));
    std::fs::write(&torn, bytes).unwrap();
    let garbage = dir.join("garbage");
    let mut g = vec![0x5Au8; 64];
    g[..4].copy_from_slice(b"FPJR");
    g[4] = JOURNAL_VERSION;
    g[18] = 200; // no out_trade_no can be read
    assert_eq!(JournalRecord::decode(&g), Err(JournalError::Corrupt));
    assert_eq!(JournalRecord::salvage(&g), None);
    std::fs::write(&garbage, g).unwrap();
    scenario_with(
        "journal_torn_record",
        &format!("{}|{}", torn.to_str().unwrap(), garbage.to_str().unwrap()),
    );
}

#[test]
fn journal_file_is_replaced_atomically_and_ignores_a_stray_temp_file() {
    scenario("file_journal_atomic");
}

/// The built cdylib, found next to this test executable (`target/<profile>/deps/..`).
fn cdylib_dir() -> PathBuf {
    let name = format!(
        "{}facepay_device{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let exe = std::env::current_exe().unwrap();
    for dir in exe.ancestors().skip(1).take(3) {
        if dir.join(&name).exists() {
            return dir.to_path_buf();
        }
    }
    panic!("{name} not found near {}", exe.display());
}

#[test]
fn subprocess_loads_the_cdylib() {
    let out = Command::new(tool("java"))
        .arg(format!("-Djava.library.path={}", cdylib_dir().display()))
        .arg("-Xcheck:jni")
        .arg("-cp")
        .arg(classes())
        .arg("com.facepay.device.DeviceScenarios")
        .args([
            "happy0",
            "happy1",
            "malformed_maps",
            "facade_doc_order",
            "journal_abandoned_submit_resumes",
            "journal_submit_withheld",
        ])
        .output()
        .unwrap_or_else(|e| panic!("java failed to start: {e}; {INSTALL}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "java subprocess failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches(": OK").count(), 6, "{stdout}");
}

/// A JNI session's recorded trace (format v1) replays exactly against a fresh machine.
fn replays_exactly(scenario: &str) {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("jni-{scenario}.jsonl"));
    let _ = std::fs::remove_file(&path);
    scenario_with(scenario, path.to_str().unwrap());
    let bytes = std::fs::read(&path).unwrap();
    let report = facepay_fsm::trace::replay_bytes(&bytes, false);
    assert_eq!(
        report.verdict(),
        facepay_fsm::trace::Verdict::Exact,
        "{}",
        report.verdict_text(scenario)
    );
    assert!(!report.conclusions.is_empty(), "the traced session concluded an order");
}

#[test]
fn a_jni_session_trace_replays_exactly() {
    replays_exactly("traced_happy1");
}

#[test]
fn a_jni_session_with_timers_and_a_reverse_replays_exactly() {
    replays_exactly("traced_ambiguous");
}

/// With `trace_dir`, each session writes its own file: the one killed mid-payment and the
/// one that resumes its order from the journal, which names the one it continues. Both
/// replay (the first was cut by the power loss).
#[test]
fn a_trace_dir_holds_one_file_per_session_and_links_a_resumed_one() {
    use facepay_fsm::trace::{Verdict, replay_sessions};
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("jni-trace-dir");
    let _ = std::fs::remove_dir_all(&dir);
    scenario_with("trace_dir_power_loss", dir.to_str().unwrap());
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let mut headers = Vec::new();
    for f in &files {
        let reports = replay_sessions(&std::fs::read(f).unwrap(), false);
        assert_eq!(reports.len(), 1, "{}", f.display());
        let r = &reports[0];
        assert!(
            matches!(r.verdict(), Verdict::Exact | Verdict::Truncated),
            "{}",
            r.verdict_text(&f.display().to_string())
        );
        headers.push(r.header.clone().unwrap());
    }
    let first = headers[0].session.clone().expect("named");
    assert!(files[0].to_string_lossy().contains(&first));
    assert_eq!(headers[1].continues.as_deref(), Some(first.as_str()));
    assert!(headers[1].resume.is_some());
}

/// The failed journal write before the submit is a `persisted` trace record; the trace
/// replays exactly (the submit never comes out, the order concludes unpaid).
#[test]
fn a_jni_session_with_a_withheld_submit_replays_exactly() {
    replays_exactly("traced_withheld");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("jni-traced_withheld.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.lines().any(|l| l.contains(r#""persisted":"write_failed""#)),
        "no failed write in the trace:\n{text}"
    );
    assert!(!text.contains(r#""submit":{"#), "a submit in the trace:\n{text}");
}

/// The README's uni-app plugin is the one the JVM suite compiles (against stand-ins for
/// uni-app's and fastjson's classes), character for character.
#[test]
fn readme_uni_app_example_is_the_compiled_one() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let java = std::fs::read_to_string(root.join("tests/java/com/facepay/example/WxFacePayPlugin.java")).unwrap();
    let head = "### As a uni-app native plugin\n\n```java\n";
    let at = readme.find(head).expect("the README's uni-app section") + head.len();
    let block = &readme[at..at + readme[at..].find("```").unwrap()];
    let begin = "// README:BEGIN uni-app\n";
    let from = java.find(begin).unwrap() + begin.len();
    let compiled = &java[from..java.find("// README:END uni-app").unwrap()];
    assert_eq!(block, compiled);
}
