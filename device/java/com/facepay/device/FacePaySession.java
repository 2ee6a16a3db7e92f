package com.facepay.device;

import android.content.Context;
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
 * {@code reverse_not_before}, ...), {@code sdk_version} ("2.13"), {@code trace_dir} (a
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

    /** Takes one payment: the getWxpayfaceCode order keys (out_trade_no, total_fee, face_code_type, ...). */
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
