//! The thin JNI layer: native methods of `com.facepay.device.FacePaySession` and the
//! [`Host`] that executes commands by calling back into that Java object.
//!
//! - Every native method starts in `with_env` (through `native_method!`), which catches
//!   panics; the SDK and backend callbacks never throw into the caller's thread (a Binder
//!   thread must not see our errors): what cannot be read becomes a typed event and a log line.
//! - Sessions are reached by a generation-checked handle ([`crate::registry`]).
//! - Rust calls only methods of objects it holds (`GetObjectClass`) and `java.*` classes, so
//!   no app class is looked up from a native thread. The app's class loader is still cached
//!   and set as the context loader of the timer thread, so host code running there
//!   (`Class.forName`, `ServiceLoader`) sees the app's classes as on any app thread.

use std::sync::OnceLock;

use jni::errors::{Error as JniError, LogErrorAndDefault, ThrowRuntimeExAndDefault};
use jni::objects::{JByteArray, JCharArray, JClassLoader, JMap, JObject, JString, JThread, JValue};
use jni::refs::Global;
use jni::sys::{jint, jlong};
use jni::vm::JavaVM;
use jni::{Env, NativeMethod, jni_sig, jni_str, native_method};

use facepay_fsm::trace::Redaction;
use facepay_fsm::{AppEvent, BackendCall, Diagnostic, JournalRecord, Notice, RequestId, SdkCall, StateId};

use crate::answer::{Entry, JavaValue, MAX_READ_UNITS, kind_index, kind_of, sdk_event};
use crate::call::{Args, backend_args, sdk_args};
use crate::device::{Device, Host, Input, JournalStart, TraceOut};
use crate::facade::{Answer, Call, Operation, Params, Token, Value};
use crate::registry::{Handle, Registry};
use crate::request;
use crate::timer::TimerThread;

/// Every live session.
pub static SESSIONS: Registry<Device> = Registry::new();

static APP_LOADER: OnceLock<Global<JClassLoader<'static>>> = OnceLock::new();

thread_local! {
    static LOADER_SET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

type JResult<T> = Result<T, JniError>;

// ── Java → Rust: reading maps ───────────────────────────────────────────────────────────

/// Reads a `java.util.Map` into entries: `None` for a null map. Non-string keys are
/// dropped; values are classified for [`crate::answer`]'s checks.
pub fn read_map(env: &mut Env<'_>, map: &JMap<'_>) -> JResult<Option<Vec<Entry>>> {
    if map.is_null() {
        return Ok(None);
    }
    env.with_local_frame(16, |env| -> JResult<Option<Vec<Entry>>> {
        let mut out = Vec::new();
        let mut it = map.iter(env)?;
        while let Some(entry) = env.with_local_frame(8, |env| -> JResult<Option<Option<Entry>>> {
            let Some(e) = it.next(env)? else { return Ok(None) };
            let k = e.key(env)?;
            let v = e.value(env)?;
            if k.is_null() || !env.is_instance_of(&k, jni_str!("java/lang/String"))? {
                return Ok(Some(None));
            }
            let key = env.as_cast::<JString>(&k)?.try_to_string(env)?;
            Ok(Some(Some((key, read_value(env, &v)?))))
        })? {
            if let Some(e) = entry {
                out.push(e);
            }
        }
        Ok(Some(out))
    })
}

fn read_value(env: &mut Env<'_>, v: &JObject<'_>) -> JResult<Option<JavaValue>> {
    if v.is_null() {
        return Ok(None);
    }
    if env.is_instance_of(v, jni_str!("java/lang/String"))? {
        let len = env.call_method(v, jni_str!("length"), jni_sig!("()I"), &[])?.i()?;
        let len = usize::try_from(len).unwrap_or(0);
        if len > MAX_READ_UNITS {
            return Ok(Some(JavaValue::LongStr(len)));
        }
        let arr = env
            .call_method(v, jni_str!("toCharArray"), jni_sig!("()[C"), &[])?
            .l()?;
        let arr = env.cast_local::<JCharArray>(arr)?;
        let mut buf = vec![0u16; len];
        arr.get_region(env, 0, &mut buf)?;
        return Ok(Some(JavaValue::Str(buf)));
    }
    if env.is_instance_of(v, jni_str!("java/lang/Number"))? {
        let n = env.call_method(v, jni_str!("longValue"), jni_sig!("()J"), &[])?.j()?;
        return Ok(Some(JavaValue::Int(n)));
    }
    if env.is_instance_of(v, jni_str!("java/lang/Boolean"))? {
        let b = env
            .call_method(v, jni_str!("booleanValue"), jni_sig!("()Z"), &[])?
            .z()?;
        return Ok(Some(JavaValue::Bool(b)));
    }
    let cls = env.get_object_class(v)?;
    let name = env
        .call_method(&cls, jni_str!("getName"), jni_sig!("()Ljava/lang/String;"), &[])?
        .l()?;
    let name = env.cast_local::<JString>(name)?.try_to_string(env)?;
    Ok(Some(JavaValue::Other(name)))
}

/// Reads a map; a map that throws while being read (e.g. modified concurrently) is
/// cleared and treated as unreadable (`None`), with the reason in `why`.
fn read_map_or_log(env: &mut Env<'_>, map: &JMap<'_>, why: &mut Option<String>) -> Option<Vec<Entry>> {
    match read_map(env, map) {
        Ok(m) => m,
        Err(e) => {
            if env.exception_check() {
                env.exception_clear();
            }
            *why = Some(format!("map could not be read: {e}"));
            None
        }
    }
}

fn strings(entries: &[Entry]) -> Vec<(String, String)> {
    entries
        .iter()
        .filter_map(|(k, v)| match v {
            Some(JavaValue::Str(u)) => Some((k.clone(), String::from_utf16_lossy(u))),
            Some(JavaValue::Int(n)) => Some((k.clone(), n.to_string())),
            Some(JavaValue::Bool(b)) => Some((k.clone(), b.to_string())),
            _ => None,
        })
        .collect()
}

// ── Rust → Java: the host ───────────────────────────────────────────────────────────────

struct JavaHost {
    this: Global<JObject<'static>>,
}

/// Reads a Java `String` result that may be null (`None`).
fn opt_string(env: &mut Env<'_>, obj: JObject<'_>) -> JResult<Option<String>> {
    if obj.is_null() {
        return Ok(None);
    }
    Ok(Some(env.cast_local::<JString>(obj)?.try_to_string(env)?))
}

fn new_map<'l>(env: &mut Env<'l>, args: &Args) -> JResult<JMap<'l>> {
    let obj = env.new_object(jni_str!("java/util/HashMap"), jni_sig!("()V"), &[])?;
    let map = env.cast_local::<JMap>(obj)?;
    for (k, v) in args {
        let k = env.new_string(k)?;
        let v = env.new_string(v)?;
        map.put(env, &k, &v)?;
    }
    Ok(map)
}

fn answer_map<'l>(env: &mut Env<'l>, a: &Answer) -> JResult<JMap<'l>> {
    let obj = env.new_object(jni_str!("java/util/HashMap"), jni_sig!("()V"), &[])?;
    let map = env.cast_local::<JMap>(obj)?;
    for (k, v) in &a.0 {
        let k = env.new_string(k)?;
        let v = java_value(env, v)?;
        map.put(env, &k, &v)?;
    }
    Ok(map)
}

/// An answer value as Java reads it: String, Boolean, Integer (Long beyond int's range),
/// or a nested HashMap.
fn java_value<'l>(env: &mut Env<'l>, v: &Value) -> JResult<JObject<'l>> {
    Ok(match v {
        Value::Str(s) => env.new_string(s)?.into(),
        Value::Bool(b) => env
            .call_static_method(
                jni_str!("java/lang/Boolean"),
                jni_str!("valueOf"),
                jni_sig!("(Z)Ljava/lang/Boolean;"),
                &[JValue::Bool(*b)],
            )?
            .l()?,
        Value::Num(n) => match i32::try_from(*n) {
            Ok(i) => env
                .call_static_method(
                    jni_str!("java/lang/Integer"),
                    jni_str!("valueOf"),
                    jni_sig!("(I)Ljava/lang/Integer;"),
                    &[JValue::Int(i)],
                )?
                .l()?,
            Err(_) => env
                .call_static_method(
                    jni_str!("java/lang/Long"),
                    jni_str!("valueOf"),
                    jni_sig!("(J)Ljava/lang/Long;"),
                    &[JValue::Long(*n)],
                )?
                .l()?,
        },
        Value::Obj(entries) => {
            let obj = env.new_object(jni_str!("java/util/HashMap"), jni_sig!("()V"), &[])?;
            let map = env.cast_local::<JMap>(obj)?;
            for (k, v) in entries {
                let k = env.new_string(k)?;
                let v = java_value(env, v)?;
                map.put(env, &k, &v)?;
            }
            map.into()
        }
    })
}

/// A facade call from the Java maps: values typed as the app gave them; the merchant map
/// (the config merged with the call's keys, by `WxFacePay`) overrides init's own keys.
fn facade_call(op: Option<Operation>, params: &[Entry], merchant: Option<&[Entry]>) -> Result<Call, String> {
    let op = op.ok_or_else(|| "unknown facade operation".to_owned())?;
    let mut p: Params = Vec::new();
    for (k, v) in params {
        let v = match v {
            None => continue,
            Some(JavaValue::Str(u)) => Value::Str(String::from_utf16_lossy(u)),
            Some(JavaValue::Int(n)) => Value::Num(*n),
            Some(JavaValue::Bool(b)) => Value::Bool(*b),
            Some(JavaValue::LongStr(n)) => {
                return Err(format!("{}: `{k}` is too long ({n} characters)", op.name()));
            }
            Some(JavaValue::Other(class)) => {
                return Err(format!(
                    "{}: `{k}` is a {class}, not a string, number or boolean",
                    op.name()
                ));
            }
        };
        p.push((k.clone(), v));
    }
    let mut call = facepay_facade::parse(op, &p).map_err(|e| e.to_string())?;
    if let (Call::Init { merchant: m, .. }, Some(given)) = (&mut call, merchant) {
        let given = request::merchant(given).map_err(param_error)?;
        *m = given;
    }
    Ok(call)
}

impl JavaHost {
    /// Runs `f` attached (a Java thread is already attached; the timer thread attaches
    /// once, permanently, and gets the app's class loader as its context loader).
    fn with_java(&self, what: &str, f: impl FnOnce(&mut Env<'_>, &JObject<'_>) -> JResult<()>) {
        let r = JavaVM::singleton().and_then(|vm| {
            vm.attach_current_thread(|env| -> JResult<()> {
                if !LOADER_SET.get() {
                    LOADER_SET.set(true);
                    let t = JThread::current_thread(env)?;
                    if let Some(loader) = APP_LOADER.get() {
                        t.set_context_class_loader(env, loader)?;
                    }
                    // Java sees the timer thread by its name: FacePaySession keeps the
                    // host's blocking backend calls off it.
                    if std::thread::current().name() == Some(crate::timer::THREAD_NAME) {
                        let name = env.new_string(crate::timer::THREAD_NAME)?;
                        t.set_name(env, &name)?;
                    }
                }
                f(env, &self.this)
            })
        });
        if let Err(e) = r {
            // Java code threw (the bridge catches host exceptions itself, so this is rare)
            // or the VM is gone: nothing to hand it to but stderr.
            eprintln!("facepay-device: {what} failed: {e}");
        }
    }

    /// Like [`JavaHost::with_java`], for a journal call whose answer matters: a Java
    /// error string (the bridge method caught the journal's exception) or a JNI failure
    /// (a pending exception is cleared by `attach_current_thread`) becomes `Err`.
    fn journal_call(
        &self,
        f: impl FnOnce(&mut Env<'_>, &JObject<'_>) -> JResult<Option<String>>,
    ) -> Result<(), String> {
        let r = JavaVM::singleton().and_then(|vm| vm.attach_current_thread(|env| f(env, &self.this)));
        match r {
            Ok(None) => Ok(()),
            Ok(Some(e)) => Err(e),
            Err(e) => Err(format!("journal call failed in JNI: {e}")),
        }
    }
}

impl Host for JavaHost {
    fn sdk_call(&self, id: RequestId, call: &SdkCall) {
        let args = sdk_args(call);
        let kind = kind_index(call.kind());
        self.with_java("callSdk", |env, this| {
            let m = new_map(env, &args)?;
            env.call_method(
                this,
                jni_str!("callSdk"),
                jni_sig!("(JILjava/util/Map;)V"),
                &[JValue::Long(i64::from(id.0)), JValue::Int(kind), JValue::Object(&m)],
            )?
            .v()
        });
    }

    fn backend_call(&self, id: RequestId, call: &BackendCall) {
        let b = backend_args(call);
        self.with_java("callBackend", |env, this| {
            let op = env.new_string(b.op)?;
            let path = env.new_string(b.path)?;
            let m = new_map(env, &b.args)?;
            env.call_method(
                this,
                jni_str!("callBackend"),
                jni_sig!("(JLjava/lang/String;Ljava/lang/String;Ljava/util/Map;)V"),
                &[
                    JValue::Long(i64::from(id.0)),
                    JValue::Object(&op),
                    JValue::Object(&path),
                    JValue::Object(&m),
                ],
            )?
            .v()
        });
    }

    fn notice(&self, notice: &Notice) {
        let (kind, args) = notice_args(notice);
        self.with_java("onNotice", |env, this| {
            let k = env.new_string(kind)?;
            let m = new_map(env, &args)?;
            env.call_method(
                this,
                jni_str!("onNotice"),
                jni_sig!("(Ljava/lang/String;Ljava/util/Map;)V"),
                &[JValue::Object(&k), JValue::Object(&m)],
            )?
            .v()
        });
    }

    fn diagnostic(&self, d: &Diagnostic) {
        self.log(&format!("diagnostic in {}: {:?}", d.state, d.kind));
    }

    fn persist(&self, record: &JournalRecord) -> Result<(), String> {
        let bytes = record.encode();
        self.journal_call(|env, this| {
            let arr = env.byte_array_from_slice(&bytes)?;
            let r = env
                .call_method(
                    this,
                    jni_str!("journalWrite"),
                    jni_sig!("([B)Ljava/lang/String;"),
                    &[JValue::Object(&arr)],
                )?
                .l()?;
            opt_string(env, r)
        })
    }

    fn journal_clear(&self) -> Result<(), String> {
        self.journal_call(|env, this| {
            let r = env
                .call_method(this, jni_str!("journalClear"), jni_sig!("()Ljava/lang/String;"), &[])?
                .l()?;
            opt_string(env, r)
        })
    }

    fn journal_notice(&self, kind: &'static str, fields: &Args) {
        self.with_java("onNotice", |env, this| {
            let k = env.new_string(kind)?;
            let m = new_map(env, fields)?;
            env.call_method(
                this,
                jni_str!("onNotice"),
                jni_sig!("(Ljava/lang/String;Ljava/util/Map;)V"),
                &[JValue::Object(&k), JValue::Object(&m)],
            )?
            .v()
        });
    }

    fn state_changed(&self, state: StateId) {
        self.with_java("onState", |env, this| {
            let s = env.new_string(format!("{state:?}"))?;
            env.call_method(
                this,
                jni_str!("onState"),
                jni_sig!("(Ljava/lang/String;)V"),
                &[JValue::Object(&s)],
            )?
            .v()
        });
    }

    fn facade_answer(&self, token: Token, answer: &Answer) {
        self.with_java("onFacadeAnswer", |env, this| {
            let m = answer_map(env, answer)?;
            env.call_method(
                this,
                jni_str!("onFacadeAnswer"),
                jni_sig!("(JLjava/util/Map;)V"),
                &[JValue::Long(i64::try_from(token).unwrap_or(0)), JValue::Object(&m)],
            )?
            .v()
        });
    }

    fn log(&self, line: &str) {
        self.with_java("log", |env, this| {
            let s = env.new_string(line)?;
            env.call_method(
                this,
                jni_str!("log"),
                jni_sig!("(Ljava/lang/String;)V"),
                &[JValue::Object(&s)],
            )?
            .v()
        });
    }
}

/// A notice as the listener hears it: a kind and string fields.
pub fn notice_args(n: &Notice) -> (&'static str, Args) {
    match n {
        Notice::Ready => ("Ready", Args::new()),
        Notice::SdkUnavailable => ("SdkUnavailable", Args::new()),
        Notice::Released => ("Released", Args::new()),
        Notice::UserNotIdentified => ("UserNotIdentified", Args::new()),
        Notice::JournalUnreadable => ("JournalUnreadable", Args::new()),
        Notice::UserIdentified(u) => (
            "UserIdentified",
            vec![
                ("openid", u.openid.to_string()),
                ("sub_openid", u.sub_openid.to_string()),
                ("nickname", u.nickname.to_string()),
            ],
        ),
        Notice::OrderConcluded(c) => (
            "OrderConcluded",
            vec![
                ("out_trade_no", c.out_trade_no.to_string()),
                ("outcome", c.outcome.to_string()),
                ("reason", format!("{:?}", c.reason)),
                ("transaction_id", c.transaction_id.to_string()),
            ],
        ),
    }
}

// ── Timer wake-ups ──────────────────────────────────────────────────────────────────────

fn wake(h: Handle) {
    if let Some(d) = SESSIONS.get(h) {
        d.submit(Input::Timeout);
    }
}

fn schedule(at: std::time::Instant, h: Handle) {
    if let Some(t) = TimerThread::global(wake) {
        t.schedule(at, h);
    }
}

// ── Native methods ──────────────────────────────────────────────────────────────────────

/// Operation numbers of `nativeCall`, as `FacePaySession` and `WxFacePay` pass them.
pub mod ops {
    #![allow(missing_docs)]
    pub const START: i32 = 0;
    pub const START_ORDER: i32 = 1;
    pub const IDENTIFY_USER: i32 = 2;
    pub const CANCEL: i32 = 3;
    pub const RELEASE: i32 = 4;
    pub const F_INIT: i32 = 10;
    pub const F_RAWDATA: i32 = 11;
    pub const F_AUTHINFO: i32 = 12;
    pub const F_USERINFO: i32 = 13;
    pub const F_CODE: i32 = 14;
    pub const F_MICROPAY: i32 = 15;
    pub const F_ORDERQUERY: i32 = 16;
    pub const F_REVERSE: i32 = 17;
    pub const F_UPDATE: i32 = 18;
    pub const F_RELEASE: i32 = 19;
}

fn session(h: jlong) -> Option<std::sync::Arc<Device>> {
    SESSIONS.get(u64::from_ne_bytes(h.to_ne_bytes()))
}

fn create(env: &mut Env<'_>, _class: jni::objects::JClass<'_>, this: JObject<'_>, options: JMap<'_>) -> JResult<jlong> {
    if APP_LOADER.get().is_none() {
        let cls = env.get_object_class(&this)?;
        let loader = env
            .call_method(
                &cls,
                jni_str!("getClassLoader"),
                jni_sig!("()Ljava/lang/ClassLoader;"),
                &[],
            )?
            .l()?;
        if !loader.is_null() {
            let loader = env.cast_local::<JClassLoader>(loader)?;
            let _ = APP_LOADER.set(env.new_global_ref(&loader)?);
        }
    }
    let entries = read_map(env, &options)?.unwrap_or_default();
    let opts = match request::session_options(&strings(&entries)) {
        Ok(o) => o,
        Err(e) => {
            return Err(env
                .throw_new(
                    jni_str!("java/lang/IllegalArgumentException"),
                    jni::strings::JNIString::from(e.to_string()),
                )
                .err()
                .unwrap_or(JniError::JavaException));
        }
    };
    let journal = read_journal(env, &this);
    let throw_io = |env: &mut Env<'_>, msg: String| {
        env.throw_new(
            jni_str!("java/io/UncheckedIOException"),
            jni::strings::JNIString::from(msg),
        )
        .err()
        .unwrap_or(JniError::JavaException)
    };
    // One file per session under trace_dir (a resumed order links to the session it
    // continues); or, as before, everything appended to trace_path.
    let mut names = None;
    let trace: TraceOut = if !opts.trace_dir.is_empty() {
        let resumes = matches!(&journal, JournalStart::Stored(b) if !b.is_empty());
        match crate::trace_files::open_session(
            std::path::Path::new(&opts.trace_dir),
            opts.trace_keep,
            resumes,
            std::time::SystemTime::now(),
        ) {
            Ok(f) => {
                names = Some((f.session, f.continues));
                Box::new(std::io::BufWriter::new(f.file))
            }
            Err(e) => return Err(throw_io(env, format!("cannot open a trace in {}: {e}", opts.trace_dir))),
        }
    } else if opts.trace_path.is_empty() {
        Box::new(std::io::sink())
    } else {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&opts.trace_path)
        {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => return Err(throw_io(env, format!("cannot open trace {}: {e}", opts.trace_path))),
        }
    };
    let redaction = if opts.trace_redact {
        Redaction::Placeholders
    } else {
        Redaction::Raw
    };
    let host = JavaHost {
        this: env.new_global_ref(&this)?,
    };
    let device = Device::named(
        opts.policy,
        opts.manual_clock,
        trace,
        redaction,
        Box::new(host),
        Some(schedule),
        journal,
        names,
    )
    .map_err(|e| JniError::ParseFailed(e.to_string()))?;
    let h = SESSIONS.insert(device);
    if let Some(d) = SESSIONS.get(h) {
        d.set_handle(h);
    }
    Ok(i64::from_ne_bytes(h.to_ne_bytes()))
}

/// `Object journalRead()`: null without a journal, the stored bytes (empty when none), or
/// a String saying why the journal could not be read. Never throws into `create`.
fn read_journal(env: &mut Env<'_>, this: &JObject<'_>) -> JournalStart {
    let r = env.with_local_frame(8, |env| -> JResult<JournalStart> {
        let obj = env
            .call_method(this, jni_str!("journalRead"), jni_sig!("()Ljava/lang/Object;"), &[])?
            .l()?;
        if obj.is_null() {
            return Ok(JournalStart::Absent);
        }
        if env.is_instance_of(&obj, jni_str!("[B"))? {
            let arr = env.cast_local::<JByteArray>(obj)?;
            return Ok(JournalStart::Stored(env.convert_byte_array(&arr)?));
        }
        let text = env
            .call_method(&obj, jni_str!("toString"), jni_sig!("()Ljava/lang/String;"), &[])?
            .l()?;
        Ok(JournalStart::Unreadable(opt_string(env, text)?.unwrap_or_default()))
    });
    r.unwrap_or_else(|e| {
        if env.exception_check() {
            env.exception_clear();
        }
        JournalStart::Unreadable(format!("journal read failed in JNI: {e}"))
    })
}

fn param_error(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// `String nativeCall(long h, int op, Map params, Map merchant, long token)`: null when
/// queued, else why the parameters were rejected (nothing was queued).
fn call<'l>(
    env: &mut Env<'l>,
    _class: jni::objects::JClass<'l>,
    h: jlong,
    op: jint,
    params: JMap<'l>,
    merchant: JMap<'l>,
    token: jlong,
) -> JResult<JString<'l>> {
    let Some(d) = session(h) else {
        return env.new_string("the session is closed");
    };
    let p = read_map(env, &params)?.unwrap_or_default();
    let token = u64::from_ne_bytes(token.to_ne_bytes());
    let input: Result<Input, String> = match op {
        ops::START => {
            let m = read_map(env, &merchant)?.unwrap_or_default();
            request::init_params(&p)
                .and_then(|init| request::merchant(&m).map(|merchant| AppEvent::Start { init, merchant }))
                .map(|ev| Input::App(ev, None))
                .map_err(param_error)
        }
        ops::START_ORDER => request::order(&p)
            .map_err(param_error)
            .map(|o| Input::App(AppEvent::StartOrder(o), None)),
        ops::IDENTIFY_USER => request::user_info(&p)
            .map_err(param_error)
            .map(|u| Input::App(AppEvent::IdentifyUser(u), None)),
        ops::CANCEL => Ok(Input::App(AppEvent::Cancel, None)),
        ops::RELEASE => Ok(Input::App(AppEvent::Release, None)),
        ops::F_INIT..=ops::F_RELEASE => {
            let operation = usize::try_from(op - ops::F_INIT)
                .ok()
                .and_then(|i| Operation::ALL.get(i).copied());
            let m = if op == ops::F_INIT {
                read_map(env, &merchant)?
            } else {
                None
            };
            facade_call(operation, &p, m.as_deref()).map(|c| Input::Facade(token, c))
        }
        other => Err(format!("unknown operation {other}")),
    };
    match input {
        Ok(i) => {
            d.submit(i);
            Ok(JString::null())
        }
        Err(msg) => env.new_string(msg),
    }
}

/// `void nativeSdkAnswer(long h, long id, int kind, Map info)`: from a Binder thread; never throws.
fn sdk_answer<'l>(
    env: &mut Env<'l>,
    _class: jni::objects::JClass<'l>,
    h: jlong,
    id: jlong,
    kind: jint,
    info: JMap<'l>,
) -> JResult<()> {
    let Some(d) = session(h) else { return Ok(()) };
    let (Some(kind), Ok(id)) = (kind_of(kind), u32::try_from(id)) else {
        d.submit_log(&format!("SDK callback with unknown kind {kind} or id {id} dropped"));
        return Ok(());
    };
    let mut why = None;
    let entries = read_map_or_log(env, &info, &mut why);
    if let Some(w) = why {
        d.submit_log(&w);
    }
    match sdk_event(RequestId(id), kind, entries.as_deref()) {
        Some(ev) => {
            if let facepay_fsm::SdkEvent::Unreadable { error, call, .. } = &ev {
                d.submit_log(&format!("unreadable {} callback for #{id}: {error}", call.method()));
            }
            d.submit(Input::Event(facepay_fsm::Event::Sdk(ev)));
        }
        None => d.submit_log(&format!("{} answered #{id}; no event needed", kind.method())),
    }
    Ok(())
}

/// The text of a Java string, or "" for null.
fn text_or_empty(env: &mut Env<'_>, s: &JString<'_>) -> JResult<String> {
    if s.is_null() {
        Ok(String::new())
    } else {
        s.try_to_string(env)
    }
}

/// `void nativeBackendAnswer(long h, long id, String op, Map answer)`.
fn backend_answer<'l>(
    env: &mut Env<'l>,
    _class: jni::objects::JClass<'l>,
    h: jlong,
    id: jlong,
    op: JString<'l>,
    answer: JMap<'l>,
) -> JResult<()> {
    let Some(d) = session(h) else { return Ok(()) };
    let op = text_or_empty(env, &op)?;
    let mut why = None;
    let entries = read_map_or_log(env, &answer, &mut why);
    if let Some(w) = why {
        d.submit_log(&w);
    }
    let Ok(id) = u32::try_from(id) else { return Ok(()) };
    match request::backend_event(RequestId(id), &op, entries.as_deref()) {
        Some(ev) => d.submit(Input::Event(facepay_fsm::Event::Backend(ev))),
        None => d.submit_log(&format!("backend answer for unknown operation `{op}` dropped")),
    }
    Ok(())
}

/// `void nativeBackendFailed(long h, long id, String op, String kind, int httpStatus)`.
fn backend_failed<'l>(
    env: &mut Env<'l>,
    _class: jni::objects::JClass<'l>,
    h: jlong,
    id: jlong,
    op: JString<'l>,
    kind: JString<'l>,
    http_status: jint,
) -> JResult<()> {
    let Some(d) = session(h) else { return Ok(()) };
    let op = text_or_empty(env, &op)?;
    let kind = text_or_empty(env, &kind)?;
    let Ok(id) = u32::try_from(id) else { return Ok(()) };
    let err = request::transport_error(&kind, http_status);
    match request::backend_failure(RequestId(id), &op, err) {
        Some(ev) => d.submit(Input::Event(facepay_fsm::Event::Backend(ev))),
        None => d.submit_log(&format!("backend failure for unknown operation `{op}` dropped")),
    }
    Ok(())
}

fn boot(_env: &mut Env<'_>, _class: jni::objects::JClass<'_>, h: jlong) -> JResult<()> {
    if let Some(d) = session(h) {
        d.boot();
    }
    Ok(())
}

fn advance_clock(_env: &mut Env<'_>, _class: jni::objects::JClass<'_>, h: jlong, ms: jlong) -> JResult<()> {
    if let Some(d) = session(h) {
        d.submit(Input::Advance(u64::try_from(ms).unwrap_or(0)));
    }
    Ok(())
}

fn state<'l>(env: &mut Env<'l>, _class: jni::objects::JClass<'l>, h: jlong) -> JResult<JString<'l>> {
    let s = session(h).map_or_else(|| "Closed".to_owned(), |d| format!("{:?}", d.state()));
    env.new_string(s)
}

fn now_ms(_env: &mut Env<'_>, _class: jni::objects::JClass<'_>, h: jlong) -> JResult<jlong> {
    Ok(session(h).map_or(-1, |d| i64::try_from(d.now().0).unwrap_or(i64::MAX)))
}

fn close(_env: &mut Env<'_>, _class: jni::objects::JClass<'_>, h: jlong) -> JResult<()> {
    if let Some(d) = SESSIONS.remove(u64::from_ne_bytes(h.to_ne_bytes())) {
        d.flush();
    }
    Ok(())
}

/// The natives of `com.facepay.device.FacePaySession`, for `RegisterNatives` (tests and
/// hosts that load the code without `System.loadLibrary`). They are also exported under
/// their JNI names for `System.loadLibrary`.
pub const NATIVES: [NativeMethod; 10] = [
    native_method! {
        java_type = "com.facepay.device.FacePaySession",
        static extern fn create(this: JObject, options: java.util.Map) -> jlong,
        name = "nativeCreate",
        error_policy = ThrowRuntimeExAndDefault,
    },
    native_method! {
        java_type = "com.facepay.device.FacePaySession",
        static extern fn call(h: jlong, op: jint, params: java.util.Map, merchant: java.util.Map, token: jlong) -> JString,
        name = "nativeCall",
        error_policy = ThrowRuntimeExAndDefault,
    },
    native_method! {
        java_type = "com.facepay.device.FacePaySession",
        static extern fn sdk_answer(h: jlong, id: jlong, kind: jint, info: java.util.Map) -> (),
        name = "nativeSdkAnswer",
        error_policy = LogErrorAndDefault,
    },
    native_method! {
        java_type = "com.facepay.device.FacePaySession",
        static extern fn backend_answer(h: jlong, id: jlong, op: JString, answer: java.util.Map) -> (),
        name = "nativeBackendAnswer",
        error_policy = LogErrorAndDefault,
    },
    native_method! {
        java_type = "com.facepay.device.FacePaySession",
        static extern fn backend_failed(h: jlong, id: jlong, op: JString, kind: JString, http_status: jint) -> (),
        name = "nativeBackendFailed",
        error_policy = LogErrorAndDefault,
    },
    native_method! {
        java_type = "com.facepay.device.FacePaySession",
        static extern fn boot(h: jlong) -> (),
        name = "nativeBoot",
        error_policy = ThrowRuntimeExAndDefault,
    },
    native_method! {
        java_type = "com.facepay.device.FacePaySession",
        static extern fn advance_clock(h: jlong, ms: jlong) -> (),
        name = "nativeAdvanceClock",
        error_policy = ThrowRuntimeExAndDefault,
    },
    native_method! {
        java_type = "com.facepay.device.FacePaySession",
        static extern fn state(h: jlong) -> JString,
        name = "nativeState",
        error_policy = ThrowRuntimeExAndDefault,
    },
    native_method! {
        java_type = "com.facepay.device.FacePaySession",
        static extern fn now_ms(h: jlong) -> jlong,
        name = "nativeNow",
        error_policy = ThrowRuntimeExAndDefault,
    },
    native_method! {
        java_type = "com.facepay.device.FacePaySession",
        static extern fn close(h: jlong) -> (),
        name = "nativeClose",
        error_policy = ThrowRuntimeExAndDefault,
    },
];

/// Registers [`NATIVES`] on `com.facepay.device.FacePaySession` as loaded by `env`'s
/// context (for a JVM that cannot find the exported symbols, e.g. inside a test binary).
pub fn register_natives(env: &mut Env<'_>) -> JResult<()> {
    let cls = env.load_class(jni_str!("com.facepay.device.FacePaySession"))?;
    // SAFETY: every NativeMethod comes from `native_method!`, which type-checks the
    // function against its signature.
    unsafe { env.register_native_methods(&cls, &NATIVES) }
}

/// # Safety
///
/// Called by the JVM with its own valid `JavaVM` pointer when `System.loadLibrary` loads
/// this library; nobody else may call it.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn JNI_OnLoad(vm: *mut jni::sys::JavaVM, _reserved: *mut std::ffi::c_void) -> jint {
    // SAFETY: the JVM passes a valid pointer to itself.
    let _vm = unsafe { JavaVM::from_raw(vm) };
    jni::sys::JNI_VERSION_1_6
}
