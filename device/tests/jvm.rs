//! The Java bridge on a real JVM (no Android): a scriptable stand-in for
//! `com.tencent.wxpayface.WxPayFace` (tests/java), compiled with `javac` at test time.
//! Each scenario runs in an in-process JVM (natives registered with RegisterNatives);
//! `subprocess_loads_the_cdylib` runs some again in a `java` subprocess that
//! `System.loadLibrary`s the built cdylib.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

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
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let vm = jvm();
    let result = vm
        .attach_current_thread(|env| -> jni::errors::Result<String> {
            let cls = env.load_class(jni_str!("com.facepay.device.DeviceScenarios"))?;
            let arg = env.new_string(name)?;
            let r = env
                .call_static_method(
                    &cls,
                    jni_str!("run"),
                    jni_sig!("(Ljava/lang/String;)Ljava/lang/String;"),
                    &[JValue::Object(&arg)],
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
        .args(["happy0", "happy1", "malformed_maps", "facade_doc_order"])
        .output()
        .unwrap_or_else(|e| panic!("java failed to start: {e}; {INSTALL}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "java subprocess failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches(": OK").count(), 4, "{stdout}");
}
