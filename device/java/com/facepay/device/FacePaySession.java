package com.facepay.device;

import android.content.Context;
import com.tencent.wxpayface.IWxPayfaceCallback;
import com.tencent.wxpayface.WxPayFace;
import java.io.File;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One face-pay session: a facepay state machine in native code that decides every
 * WxPayFace SDK call, backend call, query and reversal, so that no customer is charged
 * twice. This class holds the {@link WxPayFace} instance and calls it when the machine
 * asks; SDK callbacks, backend answers and timers go back to the machine as events, one at
 * a time. All methods are thread-safe. Close it when done.
 *
 * <p>Options (all strings, all optional): the policy settings by name in milliseconds
 * ({@code backend_deadline}, {@code poll_interval}, {@code query_budget},
 * {@code reverse_not_before}, ...), {@code sdk_version} ("2.13"; used only when the
 * installed face app's version cannot be read), {@code trace_dir} (a
 * directory the session writes its own trace file into, format v1, named
 * {@code facepay-<seq>-<UTC time>.jsonl}; the oldest are deleted past
 * {@code trace_keep_files} (200) files or {@code trace_keep_bytes} (64 MiB); a session that
 * resumes an order names the file it continues), {@code trace_path} (a single file every
 * session appends to, when no {@code trace_dir}), {@code trace_redact} ("0" keeps
 * secrets), {@code clock} ("manual": time moves only through {@link #advanceClock}),
 * {@code journal_path} (where the default {@link FileJournal} keeps the power-loss record;
 * "" for none).
 *
 * <p><b>Power loss.</b> From the submit until the conclusion the session keeps a record of
 * the order in a {@link FacePayJournal}, written durably before every settling step. A
 * session created with a journal that holds a record resumes that order at once (it is
 * queried or reversed through the backend, never submitted again; {@link #start} is taken
 * meanwhile and the face service comes up after the conclusion). Without an explicit
 * journal the default is a {@link FileJournal} at {@code journal_path}, or else at
 * {@code <context.getFilesDir()>/facepay-journal}; a session with none logs that an order in
 * flight at a power loss would be forgotten. {@link #close} never clears the journal.
 */
public final class FacePaySession implements AutoCloseable {
    static final String LIBRARY = "facepay_device";

    static {
        // Tests that register the natives themselves set facepay.device.noload.
        if (!Boolean.getBoolean("facepay.device.noload")) {
            System.loadLibrary(LIBRARY);
        }
    }

    /** Answers of facade calls. */
    interface FacadeCallback {
        void answer(Map<String, Object> ret);
    }

    private final Context context;
    private final WxPayFace face;
    private final FacePayBackend backend;
    private final FacePayListener listener;
    private final FacePayJournal journal;
    private final Map<Long, FacadeCallback> waiting = new ConcurrentHashMap<>();
    private final FaceServiceWatch watch;
    private final AtomicLong tokens = new AtomicLong();
    private volatile long handle;

    /** The name of the one timer thread every session shares (native code starts it). */
    static final String TIMER_THREAD = "facepay-timer";
    /** The name of the threads that run backend calls a timer caused. */
    static final String BACKEND_THREAD = "facepay-backend";

    /**
     * Runs {@link FacePayBackend#execute} for calls that a timer caused (a query, a
     * reverse, an authinfo refresh), so that a host's blocking HTTP call never holds the
     * timer thread that every session's deadlines wait on. Cached: a call that hangs does
     * not hold up the next (the machine has given up on it by its deadline anyway).
     */
    private final ExecutorService backendThreads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, BACKEND_THREAD);
        t.setDaemon(true);
        return t;
    });

    /** A session with the default journal (see the class comment). */
    public FacePaySession(Context context, Map<String, ?> options, FacePayBackend backend, FacePayListener listener) {
        this(context, WxPayFace.getInstance(), options, backend, listener);
    }

    /** A session with the default journal (see the class comment). */
    public FacePaySession(Context context, WxPayFace face, Map<String, ?> options, FacePayBackend backend,
            FacePayListener listener) {
        this(context, face, options, backend, listener, defaultJournal(context, options));
    }

    /** A session keeping its power-loss record in {@code journal} (null: none; not recommended). */
    public FacePaySession(Context context, Map<String, ?> options, FacePayBackend backend, FacePayListener listener,
            FacePayJournal journal) {
        this(context, WxPayFace.getInstance(), options, backend, listener, journal);
    }

    /**
     * A session keeping its power-loss record in {@code journal} (null: none; not
     * recommended). If the journal holds a record, the session resumes that order now.
     */
    public FacePaySession(Context context, WxPayFace face, Map<String, ?> options, FacePayBackend backend,
            FacePayListener listener, FacePayJournal journal) {
        this.context = context;
        this.face = face;
        this.backend = backend;
        this.listener = listener;
        this.journal = journal;
        Map<String, Object> native_ = new HashMap<>();
        if (options != null) {
            native_.putAll(options);
        }
        native_.remove(JOURNAL_PATH);
        this.handle = nativeCreate(this, native_);
        // With the handle set (a backend answering on this thread needs it), run what the
        // journal's resume queued.
        nativeBoot(handle);
        // The installed face app's version decides the SDK's version gates (the pay-result
        // report before 2.13); the policy's sdk_version is only the fallback.
        reportFaceAppVersion();
        this.watch = FaceServiceWatch.watch(context, this);
    }

    /** The package of the face app whose version the SDK's behaviour depends on. */
    public static final String FACE_APP_PACKAGE = "com.tencent.wxpayface";

    /**
     * The installed face app's versionName (e.g. "2.12.100"), or null when it is not
     * installed, not visible to this app (Android 11+ needs a {@code <queries>} entry for
     * {@value #FACE_APP_PACKAGE}), or cannot be read. Never throws.
     */
    public static String installedFaceAppVersion(Context context) {
        if (context == null) {
            return null;
        }
        try {
            return context.getPackageManager().getPackageInfo(FACE_APP_PACKAGE, 0).versionName;
        } catch (Throwable t) {
            return null;
        }
    }

    /** Tells the machine the installed face app's version, or logs that the policy's applies. */
    void reportFaceAppVersion() {
        String v = installedFaceAppVersion(context);
        if (v == null) {
            log("the face app's version could not be read; the policy's sdk_version applies");
            return;
        }
        Map<String, Object> p = new HashMap<>();
        p.put("versionName", v);
        String error = nativeCall(handle, 5, p, null, 0);
        if (error != null) {
            log("face app versionName " + v + " not understood (" + error + "); the policy's sdk_version applies");
        }
    }

    /** The face service's binder died: the machine ends what needed it and starts it again. */
    void serviceLost() {
        log("the face service died");
        String error = nativeCall(handle, 6, null, null, 0);
        if (error != null) {
            log("service loss not delivered: " + error);
        }
    }

    static final String JOURNAL_PATH = "journal_path";

    /**
     * The journal a session gets when none is passed: a {@link FileJournal} at option
     * {@code journal_path} ("" for none), else {@code facepay-journal} in the app's files
     * directory, else none.
     */
    public static FacePayJournal defaultJournal(Context context, Map<String, ?> options) {
        Object path = options == null ? null : options.get(JOURNAL_PATH);
        if (path != null) {
            String p = path.toString();
            return p.isEmpty() ? null : new FileJournal(new File(p));
        }
        File dir = context == null ? null : context.getFilesDir();
        return dir == null ? null : new FileJournal(new File(dir, "facepay-journal"));
    }

    /** The journal this session writes (null: none). */
    public FacePayJournal journal() {
        return journal;
    }

    long handle() {
        return handle;
    }

    /** Brings the face service up: {@code init} has the initWxpayface keys, {@code merchant} appid, mch_id, ... */
    public void start(Map<String, ?> init, Map<String, ?> merchant) {
        check(nativeCall(handle, 0, init, merchant, 0));
    }

    /**
     * Takes one payment: the getWxpayfaceCode order keys (out_trade_no, total_fee,
     * face_code_type, ...). Without a face: {@code auth_code} (a payment code the app read,
     * e.g. with a hand scanner; submitted through micropay at once), or
     * {@code code_scanner} = "1" (the face app's scanner reads the code).
     */
    public void startOrder(Map<String, ?> order) {
        check(nativeCall(handle, 1, order, null, 0));
    }

    /** A membership lookup: face_authtype FACEID-ONCE or FACEID-LOOP, auth_mode, ask_unionid, screen_index. */
    public void identifyUser(Map<String, ?> request) {
        check(nativeCall(handle, 2, request, null, 0));
    }

    /** Abandons the current scan or lookup; refused once money may move. */
    public void cancel() {
        check(nativeCall(handle, 3, null, null, 0));
    }

    /** Releases the face service; refused while an order settles (the listener hears a log line). */
    public void release() {
        check(nativeCall(handle, 4, null, null, 0));
    }

    // ── pass-through calls: neither state nor money moves, so the machine never sees them.
    // Each map is checked first (an unknown or missing key, a bad value, a face app too
    // old for the call: IllegalArgumentException naming it, and nothing is sent); then
    // the SDK is called as it is and answers cb itself.

    /** {@code updateWxpayfaceBannerState}: banner_state "0" (the face app may show ads) or "1" (not). */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public void updateWxpayfaceBannerState(Map<String, ?> params, IWxPayfaceCallback cb) {
        checkPassThrough("updateWxpayfaceBannerState", params);
        face.updateWxpayfaceBannerState((Map) params, cb);
    }

    /** {@code reportOrder} (交易上报): mch_id, sub_mch_id (optional), out_trade_no. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public void reportOrder(Map<String, ?> params, IWxPayfaceCallback cb) {
        checkPassThrough("reportOrder", params);
        face.reportOrder((Map) params, cb);
    }

    /** {@code reportInfo} (统计上报): item, item_value. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public void reportInfo(Map<String, ?> params, IWxPayfaceCallback cb) {
        checkPassThrough("reportInfo", params);
        face.reportInfo((Map) params, cb);
    }

    /** {@code enableFirewall}: mch_id, sub_mch_id (optional); face app 2.20 or later. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public void enableFirewall(Map<String, ?> params, IWxPayfaceCallback cb) {
        checkPassThrough("enableFirewall", params);
        face.enableFirewall((Map) params, cb);
    }

    /** {@code disableFirewall}: face app 2.20 or later. */
    public void disableFirewall(IWxPayfaceCallback cb) {
        checkPassThrough("disableFirewall", null);
        face.disableFirewall(cb);
    }

    /** {@code getWxpayAuth} (实名授权): authinfo, face_sid from a FACE_AUTH getWxpayfaceCode. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public void getWxpayAuth(Map<String, ?> params, IWxPayfaceCallback cb) {
        checkPassThrough("getWxpayAuth", params);
        face.getWxpayAuth((Map) params, cb);
    }

    /** {@code ttsSpeak}: the face app reads {@code text} aloud (e.g. the amount). */
    public void ttsSpeak(String text) {
        Map<String, Object> p = new HashMap<>();
        p.put("text", text);
        checkPassThrough("ttsSpeak", p);
        face.ttsSpeak(text);
    }

    private void checkPassThrough(String method, Map<String, ?> params) {
        Map<String, Object> facts = new HashMap<>();
        facts.put("method", method);
        String v = installedFaceAppVersion(context);
        if (v != null) {
            facts.put("versionName", v);
        }
        check(nativeCall(handle, 7, params, facts, 0));
    }

    /** With option clock=manual: moves the session's time to {@code ms} and fires what is due. */
    public void advanceClock(long ms) {
        nativeAdvanceClock(handle, ms);
    }

    /** The session's time in ms (-1 once closed). */
    public long now() {
        return nativeNow(handle);
    }

    /** The current state, e.g. "Idle", "Querying"; "Closed" once closed. */
    public String state() {
        return nativeState(handle);
    }

    @Override
    public void close() {
        watch.close();
        long h = handle;
        handle = 0;
        nativeClose(h);
        backendThreads.shutdown();
    }

    private static void check(String error) {
        if (error != null) {
            throw new IllegalArgumentException(error);
        }
    }

    void facadeCall(int op, Map<String, ?> params, Map<String, ?> merchant, FacadeCallback cb) {
        long token = tokens.incrementAndGet();
        waiting.put(token, cb);
        String error = nativeCall(handle, op, params, merchant, token);
        if (error != null && waiting.remove(token) != null) {
            Map<String, Object> ret = new HashMap<>();
            ret.put("status", Boolean.FALSE);
            ret.put("errorCode", "PARAM_ERROR");
            ret.put("msg", error);
            cb.answer(ret);
        }
    }

    // ── called from native code ─────────────────────────────────────────────────────────

    @SuppressWarnings({"unchecked", "rawtypes"})
    void callSdk(long id, int kind, Map args) {
        SdkCallback cb = new SdkCallback(this, id, kind);
        try {
            switch (kind) {
                case 0: face.initWxpayface(context, args, cb); break;
                case 1: face.getWxpayfaceRawdata(cb); break;
                case 2: face.getWxpayfaceCode(args, cb); break;
                case 3: face.getWxpayfaceUserInfo(args, cb); break;
                case 4: face.startCodeScanner(cb); break;
                case 5: face.stopCodeScanner(); break;
                case 6: face.stopWxpayface(args, cb); break;
                case 7: face.updateWxpayfacePayResult(args, cb); break;
                case 8:
                    // releaseWxpayface(Context) has no callback: it is done when it returns.
                    face.releaseWxpayface(context);
                    cb.response(status("SUCCESS", ""));
                    break;
                case 9: face.reportPaycode(args, cb); break;
                default: log("unknown SDK call kind " + kind);
            }
        } catch (Throwable t) {
            // A local failure, as the AAR reports its own (return_code FAIL).
            log("SDK call #" + id + " threw " + t);
            cb.response(status("FAIL", String.valueOf(t)));
        }
    }

    private static Map<String, Object> status(String code, String msg) {
        Map<String, Object> m = new HashMap<>();
        m.put("return_code", code);
        m.put("return_msg", msg);
        return m;
    }

    @SuppressWarnings("unchecked")
    void callBackend(long id, String op, String path, Map<String, String> args) {
        BackendReply reply = new BackendReply(this, id, op);
        BackendRequest request = new BackendRequest(op, path, args);
        if (Thread.currentThread().getName().equals(TIMER_THREAD)) {
            try {
                backendThreads.execute(() -> execute(id, request, reply));
            } catch (RejectedExecutionException e) {
                // Closed meanwhile: nobody waits for the answer, but say so all the same.
                reply.fail("connection");
            }
        } else {
            execute(id, request, reply);
        }
    }

    private void execute(long id, BackendRequest request, BackendReply reply) {
        try {
            backend.execute(request, reply);
        } catch (Throwable t) {
            // The request may or may not have gone out: ambiguous, never "not paid".
            log("backend " + request.op + " #" + id + " threw " + t);
            reply.fail("connection");
        }
    }

    /** Null without a journal, the stored bytes (empty when none), or why it could not be read. */
    Object journalRead() {
        if (journal == null) {
            return null;
        }
        try {
            byte[] b = journal.read();
            return b == null ? new byte[0] : b;
        } catch (Throwable t) {
            return String.valueOf(t);
        }
    }

    /** Null once {@code record} is durable, else why not. Never throws into native code. */
    String journalWrite(byte[] record) {
        if (journal == null) {
            return null;
        }
        try {
            journal.write(record);
            return null;
        } catch (Throwable t) {
            return String.valueOf(t);
        }
    }

    /** Null once the journal is empty, else why not. */
    String journalClear() {
        if (journal == null) {
            return null;
        }
        try {
            journal.clear();
            return null;
        } catch (Throwable t) {
            return String.valueOf(t);
        }
    }

    void onNotice(String kind, Map<String, String> fields) {
        try {
            listener.onNotice(kind, fields);
        } catch (Throwable t) {
            log("listener.onNotice(" + kind + ") threw " + t);
        }
    }

    void onState(String state) {
        try {
            listener.onStateChanged(state);
        } catch (Throwable t) {
            log("listener.onStateChanged threw " + t);
        }
    }

    @SuppressWarnings("unchecked")
    void onFacadeAnswer(long token, Map<String, Object> answer) {
        FacadeCallback cb = waiting.remove(token);
        if (cb == null) {
            return;
        }
        try {
            cb.answer(answer);
        } catch (Throwable t) {
            log("facade callback threw " + t);
        }
    }

    void log(String line) {
        try {
            listener.onLog(line);
        } catch (Throwable ignored) {
            // A listener that cannot log must not break the session.
        }
    }

    // ── natives (libfacepay_device.so) ──────────────────────────────────────────────────

    static native long nativeCreate(Object self, Map<String, ?> options);

    static native String nativeCall(long handle, int op, Map<String, ?> params, Map<String, ?> merchant, long token);

    @SuppressWarnings("rawtypes")
    static native void nativeSdkAnswer(long handle, long id, int kind, Map info);

    static native void nativeBackendAnswer(long handle, long id, String op, Map<String, ?> answer);

    static native void nativeBackendFailed(long handle, long id, String op, String kind, int httpStatus);

    static native void nativeBoot(long handle);

    static native void nativeAdvanceClock(long handle, long ms);

    static native String nativeState(long handle);

    static native long nativeNow(long handle);

    static native void nativeClose(long handle);
}
