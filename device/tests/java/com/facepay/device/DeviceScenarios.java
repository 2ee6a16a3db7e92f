package com.facepay.device;

import android.content.Context;
import com.tencent.wxpayface.IWxPayfaceCallback;
import com.tencent.wxpayface.WxPayFace;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The device scenarios, run by the Rust tests inside an in-process JVM
 * ({@code run(name)} returns "OK" or what failed) and by a {@code java} subprocess that
 * loads the cdylib ({@code main}). Scenarios run one at a time (the SDK stand-in is global).
 */
public final class DeviceScenarios {
    static final class Failed extends RuntimeException {
        Failed(String m) {
            super(m);
        }
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new Failed(what);
        }
    }

    /** Listener that records everything; optionally throws from every method after recording. */
    static class Recorder implements FacePayListener {
        final LinkedBlockingQueue<Map<String, String>> concluded = new LinkedBlockingQueue<>();
        final LinkedBlockingQueue<String> notices = new LinkedBlockingQueue<>();
        final List<String> logs = Collections.synchronizedList(new ArrayList<String>());
        final List<String> states = Collections.synchronizedList(new ArrayList<String>());
        volatile boolean hostile;

        @Override
        public void onNotice(String kind, Map<String, String> fields) {
            notices.add(kind);
            if (kind.equals("OrderConcluded")) {
                concluded.add(new HashMap<>(fields));
            }
            if (hostile) {
                throw new IllegalStateException("listener failure");
            }
        }

        @Override
        public void onStateChanged(String state) {
            states.add(state);
            if (hostile) {
                throw new IllegalStateException("listener failure");
            }
        }

        @Override
        public void onLog(String line) {
            logs.add(line);
        }

        void awaitNotice(String kind) throws InterruptedException {
            long end = System.currentTimeMillis() + 5000;
            String n;
            while ((n = notices.poll(Math.max(1, end - System.currentTimeMillis()), TimeUnit.MILLISECONDS)) != null) {
                if (n.equals(kind)) {
                    return;
                }
            }
            throw new Failed("no " + kind + " notice; logs " + logs + " states " + states);
        }

        Map<String, String> awaitConclusion() throws InterruptedException {
            Map<String, String> c = concluded.poll(5, TimeUnit.SECONDS);
            check(c != null, "no conclusion; logs " + logs + " states " + states);
            return c;
        }
    }

    /** A scriptable backend: answers on its own thread by default. */
    static class Backend implements FacePayBackend {
        final List<BackendRequest> requests = Collections.synchronizedList(new ArrayList<BackendRequest>());
        volatile boolean sameThread;

        Map<String, Object> answer(BackendRequest r) {
            Map<String, Object> m = new HashMap<>();
            m.put("return_code", "SUCCESS");
            switch (r.op) {
                case "get_wxpayface_authinfo":
                    m.put("authinfo", "AUTHINFO-1");
                    m.put("expires_in", "7200");
                    break;
                case "submit":
                    m.put("result_code", "SUCCESS");
                    m.put("transaction_id", "4200000001");
                    break;
                case "query":
                    m.put("result_code", "SUCCESS");
                    m.put("trade_state", "SUCCESS");
                    m.put("transaction_id", "4200000001");
                    break;
                default:
                    m.put("result_code", "SUCCESS");
                    m.put("recall", "N");
            }
            return m;
        }

        @Override
        public void execute(BackendRequest request, BackendReply reply) {
            requests.add(request);
            Map<String, Object> a = answer(request);
            if (a == null) {
                return; // never answers
            }
            if (sameThread) {
                reply.answer(a);
            } else {
                new Thread(() -> reply.answer(a), "http-" + request.op).start();
            }
        }

        long count(String op) {
            synchronized (requests) {
                return requests.stream().filter(r -> r.op.equals(op)).count();
            }
        }

        BackendRequest last(String op) {
            synchronized (requests) {
                for (int i = requests.size() - 1; i >= 0; i--) {
                    if (requests.get(i).op.equals(op)) {
                        return requests.get(i);
                    }
                }
            }
            throw new Failed("no " + op + " request");
        }
    }

    static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i + 1 < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    static Map<String, Object> merchant() {
        return map("appid", "wx2421b1c4370ec43b", "mch_id", "10000100", "store_id", "S1");
    }

    static void awaitState(FacePaySession s, String state) throws InterruptedException {
        for (int i = 0; i < 500; i++) {
            if (s.state().equals(state)) {
                return;
            }
            Thread.sleep(10);
        }
        throw new Failed("state " + s.state() + ", wanted " + state);
    }

    /**
     * Waits until the fake SDK has seen {@code method}: the host runs a step's commands on its own
     * thread, so a notice (or the state) can be seen before the step's later SDK calls are made.
     */
    static int awaitCall(String method) throws InterruptedException {
        for (int i = 0; i < 500; i++) {
            int at = WxPayFace.CALLS.indexOf(method);
            if (at >= 0) {
                return at;
            }
            Thread.sleep(10);
        }
        throw new Failed("no " + method + " call: " + WxPayFace.CALLS);
    }

    /** Where {@link #started} sessions record their trace, when a traced scenario runs. */
    static volatile String traceTo = null;

    interface Scenario {
        void run() throws Exception;
    }

    /** Runs {@code scenario} with every session recording its trace to {@code path}. */
    static void traced(String path, Scenario scenario) throws Exception {
        traceTo = path;
        try {
            scenario.run();
        } finally {
            traceTo = null;
        }
    }

    /** Where sessions write one trace file each ({@code trace_dir}), when set. */
    static String traceDir;

    /** {@code options} with {@code trace_dir} when a scenario runs under {@link #traceDir}. */
    static Map<String, Object> withTraceDir(Map<String, Object> options) {
        if (traceDir == null) {
            return options;
        }
        Map<String, Object> o = new java.util.HashMap<String, Object>(options);
        o.put("trace_dir", traceDir);
        return o;
    }

    static FacePaySession started(Map<String, Object> options, Backend backend, Recorder rec) throws InterruptedException {
        return started(new Context(), options, backend, rec);
    }

    static FacePaySession started(Context context, Map<String, Object> options, Backend backend, Recorder rec)
            throws InterruptedException {
        if (traceTo != null) {
            options = new java.util.HashMap<String, Object>(options);
            options.put("trace_path", traceTo);
        }
        FacePaySession s = new FacePaySession(context, options, backend, rec);
        s.start(map(), merchant());
        rec.awaitNotice("Ready");
        return s;
    }

    /** Every scenario, by name. */
    public static String run(String name) {
        return run(name, "");
    }

    /** Every scenario, by name; {@code arg} for those that take one (journal files the Rust test wrote). */
    public static String run(String name, String arg) {
        WxPayFace.reset();
        try {
            switch (name) {
                case "journal_abandoned_submit_resumes": journalAbandonedSubmitResumes(); break;
                case "journal_rust_record_reverses": journalRustRecordReverses(arg); break;
                case "journal_write_fails": journalWriteFails(); break;
                case "journal_submit_withheld": journalSubmitWithheld(); journalSubmitWithheldFacade(); break;
                case "traced_withheld": traced(arg, DeviceScenarios::journalSubmitWithheld); break;
                case "journal_torn_record": journalTornRecord(arg); break;
                case "file_journal_atomic": fileJournalAtomic(); break;
                case "traced_happy1": traced(arg, () -> happy("1")); break;
                case "trace_dir_power_loss":
                    traceDir = arg;
                    try {
                        journalAbandonedSubmitResumes();
                    } finally {
                        traceDir = null;
                    }
                    break;
                case "traced_ambiguous": traced(arg, DeviceScenarios::ambiguousSubmitReverses); break;
                case "happy0": happy("0"); break;
                case "happy1": happy("1"); break;
                case "ambiguous_submit_reverses": ambiguousSubmitReverses(); break;
                case "backend_off_the_timer_thread": backendOffTheTimerThread(); break;
                case "concurrent_duplicate_late": concurrentDuplicateLate(); break;
                case "host_exceptions": hostExceptions(); break;
                case "release": release(); break;
                case "malformed_maps": malformedMaps(); break;
                case "facade_doc_order": facadeDocOrder(); break;
                case "facade_refusals": facadeRefusals(); break;
                case "face_app_version": faceAppVersion(); break;
                case "binder_death_mid_scan": binderDeathMidScan(); break;
                case "code_only_orders": codeOnlyOrders(); break;
                case "pass_through": passThrough(); break;
                default: return "unknown scenario " + name;
            }
            return "OK";
        } catch (Throwable t) {
            return name + ": " + t;
        }
    }

    public static void main(String[] args) {
        int failed = 0;
        for (String a : args) {
            String r = run(a);
            System.out.println(a + ": " + r);
            if (!r.equals("OK")) {
                failed++;
            }
        }
        System.exit(failed == 0 ? 0 : 1);
    }

    // ── scenarios ───────────────────────────────────────────────────────────────────────

    /**
     * One paid face order on a terminal whose face app is {@code installed} (null: none)
     * under a session with {@code options}: whether the pay result was reported to it.
     */
    static boolean reportsPayResult(String installed, Map<String, Object> options, Recorder rec) throws Exception {
        WxPayFace.reset();
        Context ctx = new Context();
        if (installed != null) {
            ctx.installFaceApp(installed);
        }
        Backend backend = new Backend();
        try (FacePaySession s = started(ctx, options, backend, rec)) {
            awaitState(s, "Idle");
            s.startOrder(map("out_trade_no", "T-ver", "total_fee", "100", "face_code_type", "0"));
            Map<String, String> c = rec.awaitConclusion();
            check(c.get("outcome").equals("Paid"), "outcome " + c);
            awaitState(s, "Idle");
            int i = WxPayFace.CALLS.indexOf("updateWxpayfacePayResult");
            check(i < 0 || "SUCCESS".equals(WxPayFace.ARGS.get(i).get("payresult")), "payresult " + WxPayFace.ARGS);
            return i >= 0;
        }
    }

    /** The installed face app's versionName decides the pay-result report; the policy is the fallback. */
    static void faceAppVersion() throws Exception {
        check(FacePaySession.installedFaceAppVersion(null) == null, "no context, no version");
        Context ctx = new Context();
        check(FacePaySession.installedFaceAppVersion(ctx) == null, "not installed");
        ctx.installFaceApp("2.12.100");
        check("2.12.100".equals(FacePaySession.installedFaceAppVersion(ctx)), "versionName read");

        // An old face app under the default policy (2.13): it gets the report.
        check(reportsPayResult("2.12.100", map(), new Recorder()), "2.12 installed: the report is sent");
        // A new one under a policy that says 2.12: the installed version wins.
        check(!reportsPayResult("2.13.0.0", map("sdk_version", "2.12"), new Recorder()), "2.13 installed: no report");
        // Not installed (or not visible), or a versionName that is not a version: the policy.
        Recorder none = new Recorder();
        check(reportsPayResult(null, map("sdk_version", "2.12"), none), "no face app: the policy's 2.12");
        check(none.logs.stream().anyMatch(l -> l.contains("version could not be read")), "logged " + none.logs);
        Recorder odd = new Recorder();
        check(!reportsPayResult("beta", map(), odd), "unreadable versionName: the policy's 2.13");
        check(odd.logs.stream().anyMatch(l -> l.contains("versionName beta not understood")), "logged " + odd.logs);
    }

    /**
     * The face app dies mid-scan: the watch's death recipient turns it into the service-lost
     * event, the order ends unpaid with nothing submitted, and the machine starts the face
     * service again. The AAR then rebinds and replays the pending getWxpayfaceCode: a second
     * face UI answers the old request, twice; the machine takes neither.
     */
    static void binderDeathMidScan() throws Exception {
        Recorder rec = new Recorder();
        Backend backend = new Backend();
        Context ctx = new Context();
        ctx.installFaceApp("2.21.114");
        final LinkedBlockingQueue<IWxPayfaceCallback> held = new LinkedBlockingQueue<>();
        WxPayFace.script = (method, args, cb) -> {
            if (method.equals("getWxpayfaceCode")) {
                held.add(cb);
            } else {
                WxPayFace.answerSuccess(method, args, cb);
            }
        };
        try (FacePaySession s = started(ctx, map(), backend, rec)) {
            awaitState(s, "Idle");
            s.startOrder(map("out_trade_no", "T-death", "total_fee", "100", "face_code_type", "1"));
            IWxPayfaceCallback scan = held.poll(5, TimeUnit.SECONDS);
            check(scan != null, "no scan: " + WxPayFace.CALLS);
            awaitState(s, "ScanningFace");
            int inits = count(WxPayFace.CALLS, "initWxpayface");

            ctx.killFaceService();
            Map<String, String> c = rec.awaitConclusion();
            check(c.get("outcome").equals("NotPaid") && c.get("reason").equals("SdkLost"), "death " + c);
            check(rec.logs.stream().anyMatch(l -> l.contains("the face service died")), "logged " + rec.logs);
            rec.awaitNotice("Ready");
            check(count(WxPayFace.CALLS, "initWxpayface") == inits + 1, "init again: " + WxPayFace.CALLS);

            // The replayed call: the second face UI answers the old request, twice.
            Map<String, Object> face = WxPayFace.success();
            face.put("face_code", "134567890123456789");
            face.put("openid", "o-user-1");
            scan.response(face);
            scan.response(face);
            Thread.sleep(200);
            check(backend.count("submit") == 0, "a face code of a concluded order is never submitted: " + backend.requests);
            check(rec.logs.stream().anyMatch(l -> l.contains("StaleAnswer")), "stale answers logged " + rec.logs);
            awaitState(s, "Idle");

            // The service comes back; its death is reported once per connection only.
            ctx.startFaceService();
            ctx.killFaceService();
            ctx.killFaceService();
            Thread.sleep(200);
            long deaths = rec.logs.stream().filter(l -> l.contains("the face service died")).count();
            check(deaths == 2, "one report per death: " + deaths + " " + rec.logs);
        }
    }

    static String refusal(Runnable call) {
        try {
            call.run();
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        return null;
    }

    /** The pass-through calls reach the SDK with their maps as given, checked first; the machine sees none. */
    static void passThrough() throws Exception {
        Recorder rec = new Recorder();
        Backend backend = new Backend();
        Context ctx = new Context();
        ctx.installFaceApp("2.19.0");
        final LinkedBlockingQueue<Map<String, Object>> answers = new LinkedBlockingQueue<>();
        IWxPayfaceCallback cb = new IWxPayfaceCallback() {
            @Override
            @SuppressWarnings({"unchecked", "rawtypes"})
            public void response(Map info) {
                answers.add(info);
            }
        };
        try (FacePaySession s = started(ctx, map(), backend, rec)) {
            awaitState(s, "Idle");
            int before = WxPayFace.CALLS.size();
            s.updateWxpayfaceBannerState(map("banner_state", "1"), cb);
            s.reportOrder(map("mch_id", "10000100", "out_trade_no", "T-1"), cb);
            s.reportInfo(map("item", "scan_count", "item_value", "3"), cb);
            s.getWxpayAuth(map("authinfo", "AUTHINFO-1", "face_sid", "SID-1"), cb);
            s.ttsSpeak("微信支付 1.00 元");
            for (int i = 0; i < 4; i++) {
                check(answers.poll(5, TimeUnit.SECONDS) != null, "answer " + i);
            }
            List<String> calls = new ArrayList<>(WxPayFace.CALLS.subList(before, WxPayFace.CALLS.size()));
            check(calls.equals(Arrays.asList("updateWxpayfaceBannerState", "reportOrder", "reportInfo", "getWxpayAuth", "ttsSpeak")),
                "calls " + calls);
            check("T-1".equals(WxPayFace.ARGS.get(before + 1).get("out_trade_no")), "reportOrder map " + WxPayFace.ARGS);
            check("微信支付 1.00 元".equals(WxPayFace.ARGS.get(before + 4).get("text")), "ttsSpeak " + WxPayFace.ARGS);

            // Refused by name before anything is sent.
            int sent = WxPayFace.CALLS.size();
            String e = refusal(() -> s.reportOrder(map("mchid", "10000100", "out_trade_no", "T-1"), cb));
            check("reportOrder: unknown key `mchid`".equals(e), "misspelt key: " + e);
            e = refusal(() -> s.getWxpayAuth(map("authinfo", "AUTHINFO-1"), cb));
            check("getWxpayAuth: `face_sid` is required".equals(e), "missing key: " + e);
            e = refusal(() -> s.updateWxpayfaceBannerState(map("banner_state", "yes"), cb));
            check(e != null && e.contains("`banner_state` must be"), "bad value: " + e);
            // The firewall needs face app 2.20; 2.19 is installed.
            e = refusal(() -> s.enableFirewall(map("mch_id", "10000100"), cb));
            check("enableFirewall: needs face app 2.20 or later; 2.19 is installed".equals(e), "firewall: " + e);
            e = refusal(() -> s.disableFirewall(cb));
            check(e != null && e.contains("needs face app 2.20"), "firewall: " + e);
            check(WxPayFace.CALLS.size() == sent, "nothing sent " + WxPayFace.CALLS);

            ctx.getPackageManager().install("com.tencent.wxpayface", "2.21.114");
            s.enableFirewall(map("mch_id", "10000100"), cb);
            s.disableFirewall(cb);
            check(WxPayFace.CALLS.contains("enableFirewall") && WxPayFace.CALLS.contains("disableFirewall"), "firewall " + WxPayFace.CALLS);
            check(backend.requests.size() == 1 && s.state().equals("Idle"), "the machine saw none: " + backend.requests);
        }
    }

    /** Orders without a face: an auth_code the app read, and the face app's scanner. */
    static void codeOnlyOrders() throws Exception {
        Recorder rec = new Recorder();
        Backend backend = new Backend();
        try (FacePaySession s = started(map(), backend, rec)) {
            awaitState(s, "Idle");
            s.startOrder(map("out_trade_no", "T-code", "total_fee", "100", "auth_code", "104567890123456789"));
            Map<String, String> c = rec.awaitConclusion();
            check(c.get("outcome").equals("Paid"), "outcome " + c);
            BackendRequest submit = backend.last("submit");
            check(submit.path.equals("/pay/micropay") && "104567890123456789".equals(submit.params.get("auth_code")),
                "micropay with the app's code " + submit.params);
            check(!WxPayFace.CALLS.contains("getWxpayfaceCode") && !WxPayFace.CALLS.contains("startCodeScanner"),
                "no face step " + WxPayFace.CALLS);
            awaitState(s, "Idle");

            s.startOrder(map("out_trade_no", "T-scan", "total_fee", "100", "code_scanner", "1"));
            c = rec.awaitConclusion();
            check(c.get("outcome").equals("Paid"), "outcome " + c);
            awaitState(s, "Idle");
            int i = awaitCall("reportPaycode");
            check("134567890123456789".equals(WxPayFace.ARGS.get(i).get("auth_code")),
                "reportPaycode after the scanner payment " + WxPayFace.CALLS + " " + WxPayFace.ARGS);
            check(!WxPayFace.CALLS.contains("getWxpayfaceCode"), "no face step " + WxPayFace.CALLS);

            // Not a WeChat payment code: refused by name, nothing sent.
            try {
                s.startOrder(map("out_trade_no", "T-bad", "total_fee", "100", "auth_code", "284567890123456789"));
                Thread.sleep(200);
            } catch (IllegalArgumentException e) {
                throw new Failed("refused at the machine, not the map: " + e);
            }
            check(backend.count("submit") == 2, "nothing sent for a bad code " + backend.requests);
        }
        // Through the wxFacePay facade: micropay with the customer's code, no face step.
        WxPayFace.reset();
        Backend facadeBackend = new Backend();
        try (WxFacePay pay = new WxFacePay(new Context(), merchant(), facadeBackend, new Recorder())) {
            Answers a = new Answers();
            pay.initWxpayface(a);
            ok(a.next("initWxpayface"), "initWxpayface");
            pay.micropay(map("out_trade_no", "T-wx-code", "total_fee", 100, "auth_code", "124567890123456789"), a);
            Map<String, Object> paid = a.next("micropay");
            ok(paid, "micropay", "out_trade_no", "transaction_id");
            check("Paid".equals(paid.get("outcome")), "micropay " + paid);
            check("124567890123456789".equals(facadeBackend.last("submit").params.get("auth_code")),
                "the customer's code submitted " + facadeBackend.requests);
            check(!WxPayFace.CALLS.contains("getWxpayfaceCode"), "no face step " + WxPayFace.CALLS);
        }
    }

    static void happy(String faceCodeType) throws Exception {
        Recorder rec = new Recorder();
        Backend backend = new Backend();
        // SDK 2.12 still takes updateWxpayfacePayResult: exercise it on the facepay path.
        Map<String, Object> opts = faceCodeType.equals("0") ? map("sdk_version", "2.12") : map();
        try (FacePaySession s = started(opts, backend, rec)) {
            awaitState(s, "Idle");
            s.startOrder(map("out_trade_no", "T-" + faceCodeType, "total_fee", "100", "face_code_type", faceCodeType));
            Map<String, String> c = rec.awaitConclusion();
            check(c.get("outcome").equals("Paid"), "outcome " + c);
            check(c.get("transaction_id").equals("4200000001"), "transaction " + c);
            BackendRequest submit = backend.last("submit");
            if (faceCodeType.equals("0")) {
                check(submit.path.equals("/pay/facepay"), submit.path);
                check(submit.params.get("face_code").equals("b713b5d2-666c-48"), "face_code " + submit.params);
                awaitState(s, "Idle");
                int i = WxPayFace.CALLS.indexOf("updateWxpayfacePayResult");
                check(i >= 0, "no pay result report: " + WxPayFace.CALLS);
                check("SUCCESS".equals(WxPayFace.ARGS.get(i).get("payresult")), "payresult " + WxPayFace.ARGS.get(i));
            } else {
                check(submit.path.equals("/pay/micropay"), submit.path);
                check("134567890123456789".equals(submit.params.get("auth_code")) && !submit.params.containsKey("face_code"), "micropay takes the code as auth_code " + submit.params);
                check(!WxPayFace.CALLS.contains("updateWxpayfacePayResult"), "2.13 needs no report");
            }
            int code = WxPayFace.CALLS.indexOf("getWxpayfaceCode");
            Map<String, String> req = WxPayFace.ARGS.get(code);
            check("AUTHINFO-1".equals(req.get("authinfo")) && "10000100".equals(req.get("mch_id")), "code request " + req);
            check(backend.count("submit") == 1, "one submit");
            awaitState(s, "Idle");
        }
    }

    static void ambiguousSubmitReverses() throws Exception {
        Recorder rec = new Recorder();
        final List<Long> reverseAt = Collections.synchronizedList(new ArrayList<Long>());
        final FacePaySession[] holder = new FacePaySession[1];
        Backend backend = new Backend() {
            @Override
            Map<String, Object> answer(BackendRequest r) {
                if (r.op.equals("submit")) {
                    return map("return_code", "SUCCESS", "result_code", "FAIL", "err_code", "SYSTEMERROR");
                }
                if (r.op.equals("query")) {
                    return map("return_code", "SUCCESS", "result_code", "SUCCESS", "trade_state", "USERPAYING");
                }
                if (r.op.equals("reverse")) {
                    reverseAt.add(holder[0].now());
                }
                return super.answer(r);
            }
        };
        backend.sameThread = true;
        // Time is the test's: 60 s of session time in a few milliseconds of wall time.
        try (FacePaySession s = started(map("clock", "manual", "poll_interval", "2000"), backend, rec)) {
            holder[0] = s;
            awaitState(s, "Idle");
            s.startOrder(map("out_trade_no", "T-amb", "total_fee", "100", "face_code_type", "1"));
            for (int i = 0; i < 500 && backend.count("submit") == 0; i++) {
                Thread.sleep(5);
            }
            long submittedAt = s.now();
            advanceUntil(s, rec, 1000, 600_000, 500);
            Map<String, String> c = rec.awaitConclusion();
            check(c.get("outcome").equals("Reversed"), "outcome " + c);
            check(backend.count("submit") == 1, "one submit");
            check(backend.count("query") >= 2, "queries " + backend.count("query"));
            check(!reverseAt.isEmpty() && reverseAt.get(0) - submittedAt >= 15000, "reverse too early: " + reverseAt);
            check(rec.states.contains("Querying") && rec.states.contains("Reversing"), "states " + rec.states);
        }
    }

    /**
     * A host whose backend blocks in execute (a synchronous HTTP call): the calls a timer
     * causes (here the queries after an ambiguous submit, on the real clock) run on the
     * session's backend thread, never on the timer thread every session shares.
     */
    static void backendOffTheTimerThread() throws Exception {
        Recorder rec = new Recorder();
        final List<String> threads = Collections.synchronizedList(new ArrayList<String>());
        Backend backend = new Backend() {
            @Override
            Map<String, Object> answer(BackendRequest r) {
                threads.add(r.op + "@" + Thread.currentThread().getName());
                if (r.op.equals("submit")) {
                    return map("return_code", "SUCCESS", "result_code", "FAIL", "err_code", "SYSTEMERROR");
                }
                if (r.op.equals("query")) {
                    try {
                        Thread.sleep(200); // blocking HTTP
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return super.answer(r);
            }
        };
        backend.sameThread = true;
        try (FacePaySession s = started(map("first_query_delay", "50", "poll_interval", "50"), backend, rec)) {
            awaitState(s, "Idle");
            s.startOrder(map("out_trade_no", "T-block", "total_fee", "100", "face_code_type", "1"));
            Map<String, String> c = rec.awaitConclusion();
            check(c.get("outcome").equals("Paid"), "outcome " + c);
            synchronized (threads) {
                check(threads.stream().noneMatch(n -> n.endsWith("@" + FacePaySession.TIMER_THREAD)),
                        "execute ran on the timer thread: " + threads);
                check(threads.contains("query@" + FacePaySession.BACKEND_THREAD),
                        "the timer's query ran on the backend thread: " + threads);
            }
        }
    }

    static void concurrentDuplicateLate() throws Exception {
        Recorder rec = new Recorder();
        Backend backend = new Backend();
        final LinkedBlockingQueue<IWxPayfaceCallback> held = new LinkedBlockingQueue<>();
        final AtomicInteger rawdataCalls = new AtomicInteger();
        WxPayFace.script = (method, args, cb) -> {
            if (method.equals("getWxpayfaceRawdata") && rawdataCalls.incrementAndGet() == 1) {
                // The same answer from 8 Binder threads at once.
                Map<String, Object> m = WxPayFace.success();
                m.put("rawdata", "RAWDATA-1");
                CountDownLatch go = new CountDownLatch(1);
                for (int i = 0; i < 8; i++) {
                    new Thread(() -> {
                        try {
                            go.await();
                            cb.response(m);
                        } catch (Exception e) {
                            throw new RuntimeException(e);
                        }
                    }, "binder-dup-" + i).start();
                }
                go.countDown();
            } else if (method.equals("getWxpayfaceCode")) {
                held.add(cb);
            } else {
                WxPayFace.answerSuccess(method, args, cb);
            }
        };
        try (FacePaySession s = started(map("clock", "manual", "face_scan_deadline", "5000"), backend, rec)) {
            s.advanceClock(10);
            for (int i = 0; i < 200 && backend.count("get_wxpayface_authinfo") == 0; i++) {
                Thread.sleep(5);
            }
            awaitState(s, "Idle");
            Thread.sleep(50);
            check(backend.count("get_wxpayface_authinfo") == 1, "one authinfo call for 8 duplicate answers");
            // Order 1: the face answer comes after its deadline.
            s.startOrder(map("out_trade_no", "T-late", "total_fee", "1", "face_code_type", "1"));
            IWxPayfaceCallback late = held.poll(5, TimeUnit.SECONDS);
            check(late != null, "no face scan");
            s.advanceClock(10_000);
            Map<String, String> c = rec.awaitConclusion();
            check(c.get("outcome").equals("NotPaid") && c.get("reason").contains("ScanTimedOut"), "timeout " + c);
            Map<String, Object> face = WxPayFace.success();
            face.put("face_code", "134567890123456789");
            late.response(face);
            Thread.sleep(50);
            check(backend.count("submit") == 0, "a late face code was paid");
            // Order 2: the face answer twice, from two threads at once.
            s.startOrder(map("out_trade_no", "T-dup", "total_fee", "1", "face_code_type", "1"));
            IWxPayfaceCallback cb = held.poll(5, TimeUnit.SECONDS);
            check(cb != null, "no second face scan");
            WxPayFace.answerLater(cb, face);
            WxPayFace.answerLater(cb, face);
            c = rec.awaitConclusion();
            check(c.get("outcome").equals("Paid"), "dup " + c);
            Thread.sleep(50);
            check(backend.count("submit") == 1, "submits " + backend.count("submit"));
            check(rec.concluded.isEmpty(), "a second conclusion " + rec.concluded);
        }
    }

    static void hostExceptions() throws Exception {
        Recorder rec = new Recorder();
        Backend backend = new Backend() {
            @Override
            public void execute(BackendRequest r, BackendReply reply) {
                if (r.op.equals("submit")) {
                    requests.add(r);
                    throw new IllegalStateException("merchant server down");
                }
                super.execute(r, reply);
            }
        };
        try (FacePaySession s = started(map("clock", "manual"), backend, rec)) {
            rec.hostile = true;
            s.advanceClock(10);
            awaitState(s, "Idle");
            s.startOrder(map("out_trade_no", "T-exc", "total_fee", "1", "face_code_type", "1"));
            // The face answer comes on another thread: move the clock only once the submit
            // went out, or a loaded machine lets the clock run past the order's queries.
            for (int i = 0; i < 1000 && backend.count("submit") == 0; i++) {
                Thread.sleep(5);
            }
            // The exception is an ambiguous submit: query (not before the first query delay).
            advanceUntil(s, rec, 1000, 600_000, 1000);
            Map<String, String> c = rec.awaitConclusion();
            check(c.get("outcome").equals("Paid") && c.get("reason").contains("TradeState"), "outcome " + c);
            check(backend.count("submit") == 1 && backend.count("query") >= 1, "submit/query " + backend.requests);
            check(rec.logs.stream().anyMatch(l -> l.contains("merchant server down")), "logged " + rec.logs);
            check(rec.logs.stream().anyMatch(l -> l.contains("listener failure")), "listener logged " + rec.logs);
        }
    }

    static void release() throws Exception {
        // While idle: released at once.
        Recorder rec = new Recorder();
        try (FacePaySession s = started(map("clock", "manual"), new Backend(), rec)) {
            s.advanceClock(10);
            awaitState(s, "Idle");
            s.release();
            rec.awaitNotice("Released");
            check(s.state().equals("Released"), s.state());
            awaitCall("releaseWxpayface");
        }
        // While settling: refused until concluded.
        WxPayFace.reset();
        Recorder rec2 = new Recorder();
        final LinkedBlockingQueue<BackendReply> submits = new LinkedBlockingQueue<>();
        Backend backend = new Backend() {
            @Override
            public void execute(BackendRequest r, BackendReply reply) {
                if (r.op.equals("submit")) {
                    requests.add(r);
                    submits.add(reply);
                    return;
                }
                super.execute(r, reply);
            }
        };
        try (FacePaySession s = started(map("clock", "manual"), backend, rec2)) {
            s.advanceClock(10);
            awaitState(s, "Idle");
            s.startOrder(map("out_trade_no", "T-rel", "total_fee", "1", "face_code_type", "1"));
            BackendReply reply = submits.poll(5, TimeUnit.SECONDS);
            check(reply != null, "no submit");
            s.release();
            Thread.sleep(20);
            check(s.state().equals("Submitting"), "released while settling: " + s.state());
            check(rec2.logs.stream().anyMatch(l -> l.contains("Refused(Settling)")), "refusal logged " + rec2.logs);
            check(!WxPayFace.CALLS.contains("releaseWxpayface"), "SDK released while settling");
            reply.answer(map("return_code", "SUCCESS", "result_code", "SUCCESS", "transaction_id", "42"));
            check(rec2.awaitConclusion().get("outcome").equals("Paid"), "paid");
            awaitState(s, "Idle");
            s.release();
            rec2.awaitNotice("Released");
        }
    }

    static void malformedMaps() throws Exception {
        Recorder rec = new Recorder();
        final LinkedBlockingQueue<IWxPayfaceCallback> held = new LinkedBlockingQueue<>();
        WxPayFace.script = (method, args, cb) -> {
            if (method.equals("getWxpayfaceRawdata")) {
                held.add(cb);
            } else {
                WxPayFace.answerSuccess(method, args, cb);
            }
        };
        Path trace = Files.createTempFile("facepay-malformed", ".jsonl");
        try (FacePaySession s = started(map("clock", "manual", "trace_path", trace.toString(), "auth_retry_delay", "100"), new Backend(), rec)) {
            StringBuilder big = new StringBuilder();
            for (int i = 0; i < 3000; i++) {
                big.append('x');
            }
            StringBuilder huge = new StringBuilder();
            for (int i = 0; i < 100_000; i++) {
                huge.append('y');
            }
            Object[] cases = {
                null,
                map("return_msg", "no code"),
                map("return_code", Integer.valueOf(0)),
                map("return_code", "SUCCESS"),
                map("return_code", "SUCCESS", "rawdata", big.toString()),
                map("return_code", "SUCCESS", "rawdata", huge.toString()),
                map("return_code", "SUCCESS", "rawdata", "ab\uD800cd"),
                map("return_code", "SUCCESS", "rawdata", new Object()),
            };
            long t = 10;
            for (Object c : cases) {
                s.advanceClock(t);
                IWxPayfaceCallback cb = held.poll(5, TimeUnit.SECONDS);
                check(cb != null, "no rawdata call at " + t + "; logs " + rec.logs);
                cb.response((Map) c);
                t += 200;
                Thread.sleep(5);
            }
            String[] expected = {
                "the callback map is null", "has no `return_code`", "`return_code` is not a string",
                "has no `rawdata`", "over its capacity of 2048", "over its capacity", "`rawdata` does not have the documented form",
                "`rawdata` is not a string",
            };
            for (String e : expected) {
                check(rec.logs.stream().anyMatch(l -> l.contains(e)), "missing log '" + e + "' in " + rec.logs);
            }
            check(!s.state().equals("Closed"), "session alive");
        }
        String text = new String(Files.readAllBytes(trace), "UTF-8");
        for (String e : new String[] {"null_map", "missing_key", "not_a_string", "too_long", "malformed"}) {
            check(text.contains(e), "trace lacks " + e);
        }
        check(text.startsWith("{") && text.contains("facepay-trace"), "trace header");
        Files.deleteIfExists(trace);
    }

    static final class Answers implements WxFacePay.Callback {
        final LinkedBlockingQueue<Map<String, Object>> q = new LinkedBlockingQueue<>();

        @Override
        public void callback(Map<String, Object> ret) {
            q.add(ret);
        }

        Map<String, Object> next(String what) throws InterruptedException {
            Map<String, Object> r = q.poll(5, TimeUnit.SECONDS);
            check(r != null, "no answer to " + what);
            return r;
        }
    }

    static void ok(Map<String, Object> r, String what, String... keys) {
        check(Boolean.TRUE.equals(r.get("status")), what + " failed: " + r);
        for (String k : keys) {
            check(r.get(k) instanceof String, what + " lacks " + k + ": " + r);
        }
    }

    /** The seed's number-typed keys (telephone_used, underage_state, expires_in). */
    static void num(Map<String, Object> r, String what, String... keys) {
        for (String k : keys) {
            check(r.get(k) instanceof Integer, what + ": " + k + " is not a number: " + r);
        }
    }

    static void err(Map<String, Object> r, String what, String code) {
        check(Boolean.FALSE.equals(r.get("status")) && code.equals(r.get("errorCode")) && r.get("msg") instanceof String,
            what + " should fail with " + code + ": " + r);
    }

    static void facadeDocOrder() throws Exception {
        Recorder rec = new Recorder();
        Map<String, Object> config = merchant();
        config.put("sdk_version", "2.12");
        try (WxFacePay pay = new WxFacePay(new Context(), config, new Backend(), rec)) {
            Answers a = new Answers();
            pay.initWxpayface(a);
            ok(a.next("initWxpayface"), "initWxpayface");
            // A second init answers SUCCESS, as the SDK does; the seed's nested proxy applies.
            pay.initWxpayface(map("proxy", map("ip", "10.0.0.8", "port", "3128", "proxy_type", 3)), a);
            ok(a.next("initWxpayface again"), "initWxpayface again");
            pay.initWxpayface(map("proxytype", "3"), a);
            err(a.next("initWxpayface with a typo"), "initWxpayface with a typo", "PARAM_ERROR");
            pay.getWxpayfaceRawdata(a);
            ok(a.next("getWxpayfaceRawdata"), "getWxpayfaceRawdata", "rawdata");
            pay.getWxpayFaceAuthInfo(map(), a);
            Map<String, Object> auth = a.next("getWxpayFaceAuthInfo");
            ok(auth, "getWxpayFaceAuthInfo", "authinfo");
            num(auth, "getWxpayFaceAuthInfo", "expires_in");
            pay.getWxpayfaceUserInfo(map("appid", "wx2421b1c4370ec43b", "mch_id", "10000100", "store_id", "S1",
                "face_authtype", "FACEID-ONCE", "authinfo", "AUTHINFO-1"), a);
            Map<String, Object> user = a.next("getWxpayfaceUserInfo");
            ok(user, "getWxpayfaceUserInfo", "openid", "sub_openid", "nickname", "token", "unionid_code", "unionid_msg");
            check("张三".equals(user.get("nickname")), "nickname " + user);
            pay.getWxpayfaceCode(map("appid", "wx2421b1c4370ec43b", "mch_id", "10000100", "store_id", "S1",
                "face_authtype", "FACEPAY", "telephone", "", "openid", "", "out_trade_no", "T-doc",
                "total_fee", "1", "authinfo", "AUTHINFO-1"), a);
            Map<String, Object> code = a.next("getWxpayfaceCode");
            ok(code, "getWxpayfaceCode", "face_code", "openid", "sub_openid");
            num(code, "getWxpayfaceCode", "telephone_used", "underage_state");
            pay.micropay(map("out_trade_no", "T-doc"), a);
            Map<String, Object> paid = a.next("micropay");
            ok(paid, "micropay", "out_trade_no", "transaction_id");
            check("Paid".equals(paid.get("outcome")), "micropay " + paid);
            pay.orderquery(map("out_trade_no", "T-doc"), a);
            Map<String, Object> q = a.next("orderquery");
            ok(q, "orderquery", "trade_state");
            check("SUCCESS".equals(q.get("trade_state")), "orderquery " + q);
            pay.reverse(map("out_trade_no", "T-doc"), a);
            err(a.next("reverse"), "reverse of a paid order", "ORDER_PAID");
            pay.updateWxpayfacePayResult(map("appid", "wx2421b1c4370ec43b", "mch_id", "10000100", "store_id", "S1",
                "authinfo", "AUTHINFO-1", "payresult", "SUCCESS"), a);
            ok(a.next("updateWxpayfacePayResult"), "updateWxpayfacePayResult");
            pay.releaseWxpayface(map(), a);
            ok(a.next("releaseWxpayface"), "releaseWxpayface");
        }
    }

    static void facadeRefusals() throws Exception {
        Recorder rec = new Recorder();
        final LinkedBlockingQueue<BackendReply> submits = new LinkedBlockingQueue<>();
        Backend backend = new Backend() {
            @Override
            public void execute(BackendRequest r, BackendReply reply) {
                if (r.op.equals("submit")) {
                    requests.add(r);
                    submits.add(reply);
                    return;
                }
                super.execute(r, reply);
            }
        };
        Map<String, Object> config = merchant();
        config.put("clock", "manual");
        try (WxFacePay pay = new WxFacePay(new Context(), config, backend, rec)) {
            Answers a = new Answers();
            pay.getWxpayfaceRawdata(a);
            err(a.next("rawdata before init"), "rawdata before init", "NOT_STARTED");
            pay.initWxpayface(a);
            ok(a.next("initWxpayface"), "initWxpayface");
            pay.session().advanceClock(10);
            pay.getWxpayFaceAuthInfo(a);
            ok(a.next("getWxpayFaceAuthInfo"), "authinfo");
            pay.getWxpayfaceCode(map("out_trade_no", "T-1", "total_fee", "1", "face_code_type", "1"), a);
            ok(a.next("getWxpayfaceCode"), "getWxpayfaceCode", "face_code");
            BackendReply reply = submits.poll(5, TimeUnit.SECONDS);
            check(reply != null, "no submit");
            pay.getWxpayfaceCode(map("out_trade_no", "T-2", "total_fee", "1"), a);
            err(a.next("second order while settling"), "second order while settling", "SETTLING");
            pay.releaseWxpayface(a);
            err(a.next("release while settling"), "release while settling", "SETTLING");
            pay.getWxpayfaceCode(map("total_fee", "1"), a);
            err(a.next("order without out_trade_no"), "order without out_trade_no", "PARAM_ERROR");
            pay.micropay(map("out_trade_no", "T-1"), a);
            pay.micropay(map("out_trade_no", "T-1"), a);
            err(a.next("second micropay"), "second micropay", "DUPLICATE_SUBMIT");
            reply.answer(map("return_code", "SUCCESS", "result_code", "FAIL", "err_code", "NOTENOUGH"));
            // The declined order is reversed 15 s after its submit to close the loop
            // (Policy close_declined_orders), then concluded with the decline.
            for (int i = 0; i < 500 && !pay.session().state().equals("Reversing"); i++) {
                Thread.sleep(10);
            }
            pay.session().advanceClock(15_010);
            err(a.next("micropay"), "declined micropay", "NOT_PAID");
            check(backend.count("submit") == 1, "submits");
            check(backend.count("reverse") == 1, "the declined order is reversed once");
            pay.updateWxpayfacePayResult(map("payresult", "SUCCESS"), a);
            err(a.next("contradicting payresult"), "contradicting payresult", "PAYRESULT_MISMATCH");
            pay.releaseWxpayface(a);
            ok(a.next("release"), "release once concluded");
        }
    }

    // ── power loss: the journal ─────────────────────────────────────────────────────────

    /** The 64-byte record checks that Java can make: magic, CRC-32 of bytes 0..59 (zlib's, little-endian). */
    static void checkRecord(byte[] b, int phase, String outTradeNo) {
        check(b != null && b.length == 64, "record length " + (b == null ? "null" : b.length));
        check(b[0] == 'F' && b[1] == 'P' && b[2] == 'J' && b[3] == 'R', "magic " + Arrays.toString(b));
        CRC32 crc = new CRC32();
        crc.update(b, 0, 60);
        long stored = (b[60] & 0xFFL) | (b[61] & 0xFFL) << 8 | (b[62] & 0xFFL) << 16 | (b[63] & 0xFFL) << 24;
        check(crc.getValue() == stored, "crc " + crc.getValue() + " != " + stored);
        check(b[5] == phase, "phase " + b[5] + ", wanted " + phase);
        String otn = new String(b, 19, b[18], java.nio.charset.StandardCharsets.US_ASCII);
        check(otn.equals(outTradeNo), "out_trade_no " + otn);
    }

    /** A recorder that also keeps every notice's fields. */
    static final class NoticeRecorder extends Recorder {
        final List<String> journal = Collections.synchronizedList(new ArrayList<String>());

        @Override
        public void onNotice(String kind, Map<String, String> fields) {
            if (kind.startsWith("Journal")) {
                journal.add(kind + new java.util.TreeMap<>(fields));
            }
            super.onNotice(kind, fields);
        }

        boolean saw(String prefix, String... parts) {
            synchronized (journal) {
                for (String j : journal) {
                    boolean all = j.startsWith(prefix);
                    for (String p : parts) {
                        all &= j.contains(p);
                    }
                    if (all) {
                        return true;
                    }
                }
            }
            return false;
        }
    }

    /**
     * Moves the manual clock from {@code from} in {@code step}s until an order concludes.
     * Answers arrive on other threads, so on a loaded machine the clock may move ahead of
     * them: {@code to} is a generous bound, and the loop stops at the conclusion.
     */
    static void advanceUntil(FacePaySession s, Recorder rec, long from, long to, long step) throws InterruptedException {
        for (long t = from; t <= Math.max(to, 600_000) && rec.concluded.isEmpty(); t += step) {
            s.advanceClock(t);
            Thread.sleep(1);
        }
    }

    /**
     * (a) A submit that never gets its answer, then the session is dropped (the kill): the
     * next session on the same journal resumes the order at creation, queries it, never
     * submits, concludes, takes the app's start meanwhile and clears the journal.
     */
    static void journalAbandonedSubmitResumes() throws Exception {
        Context ctx = new Context(); // one app install: the default journal is in its files dir
        File file = new File(ctx.getFilesDir(), "facepay-journal");
        final LinkedBlockingQueue<BackendReply> held = new LinkedBlockingQueue<>();
        Backend before = new Backend() {
            @Override
            public void execute(BackendRequest r, BackendReply reply) {
                if (r.op.equals("submit")) {
                    requests.add(r);
                    held.add(reply); // the answer is lost with the power
                    return;
                }
                super.execute(r, reply);
            }
        };
        Recorder rec1 = new Recorder();
        FacePaySession s1 = new FacePaySession(ctx, withTraceDir(map("clock", "manual")), before, rec1);
        check(s1.journal() instanceof FileJournal && ((FileJournal) s1.journal()).file().equals(file.getAbsoluteFile()),
            "default journal " + s1.journal());
        s1.start(map(), merchant());
        rec1.awaitNotice("Ready");
        s1.advanceClock(10);
        awaitState(s1, "Idle");
        s1.startOrder(map("out_trade_no", "T-pl", "total_fee", "100", "face_code_type", "1"));
        BackendReply lost = held.poll(5, TimeUnit.SECONDS);
        check(lost != null, "no submit");
        checkRecord(Files.readAllBytes(file.toPath()), 0, "T-pl");
        s1.close(); // killed: nothing concluded, nothing cleared
        checkRecord(Files.readAllBytes(file.toPath()), 0, "T-pl");

        WxPayFace.reset();
        NoticeRecorder rec = new NoticeRecorder();
        Backend after = new Backend();
        after.sameThread = true;
        try (FacePaySession s = new FacePaySession(ctx, withTraceDir(map("clock", "manual")), after, rec)) {
            check(rec.saw("JournalResumed", "out_trade_no=T-pl", "phase=Submitting"), "resume notice " + rec.journal);
            check(s.state().equals("Querying"), "resumed in " + s.state());
            checkRecord(Files.readAllBytes(file.toPath()), 1, "T-pl"); // Querying, written before the first query
            s.start(map(), merchant()); // taken while the order settles
            check(WxPayFace.CALLS.isEmpty(), "the face service came up while settling: " + WxPayFace.CALLS);
            advanceUntil(s, rec, 1000, 40_000, 1000);
            Map<String, String> c = rec.awaitConclusion();
            check(c.get("out_trade_no").equals("T-pl") && c.get("outcome").equals("Paid"), "outcome " + c);
            check(after.count("submit") == 0, "submitted again after the restart");
            check(after.count("query") >= 1 && "T-pl".equals(after.last("query").params.get("out_trade_no")), "query " + after.requests);
            rec.awaitNotice("Ready");
            awaitCall("initWxpayface");
            check(!file.exists() && s.journal().read() == null, "journal cleared after the conclusion");
            check(!new File(file.getPath() + ".tmp").exists(), "stray temp file");
            // The old session's answer arrives after all: its handle is closed, nothing happens.
            lost.answer(map("return_code", "SUCCESS", "result_code", "SUCCESS", "transaction_id", "42"));
            Thread.sleep(20);
            check(rec.concluded.isEmpty(), "a second conclusion " + rec.concluded);
            awaitState(s, "Idle");
        }
    }

    /**
     * (a) A Reversing record written by Rust's JournalRecord::encode (arg: its path): the
     * facade after the restart sees the order as the current one; the reverse continues its
     * budget (attempt 2), nothing is submitted or queried, micropay and orderquery answer
     * once it concluded, init once the face service is up.
     */
    static void journalRustRecordReverses(String path) throws Exception {
        NoticeRecorder rec = new NoticeRecorder();
        Backend backend = new Backend();
        backend.sameThread = true;
        Map<String, Object> config = merchant();
        config.put("clock", "manual");
        config.put("journal_path", path);
        try (WxFacePay pay = new WxFacePay(new Context(), config, backend, rec)) {
            FacePaySession s = pay.session();
            check(rec.saw("JournalResumed", "out_trade_no=T-rust-rev", "phase=Reversing"), "resume " + rec.journal);
            check(s.state().equals("Reversing"), "resumed in " + s.state());
            Answers query = new Answers();
            Answers pay1 = new Answers();
            Answers other = new Answers();
            Answers init = new Answers();
            pay.orderquery(map("out_trade_no", "T-rust-rev"), query);
            pay.micropay(map(), pay1);
            pay.orderquery(map("out_trade_no", "T-other"), other);
            err(other.next("orderquery of another order"), "orderquery of another order", "ORDER_NOT_FOUND");
            pay.initWxpayface(init);
            check(query.q.isEmpty() && pay1.q.isEmpty() && init.q.isEmpty(), "answered while settling");
            advanceUntil(s, rec, 500, 60_000, 500);
            Map<String, String> c = rec.awaitConclusion();
            check(c.get("outcome").equals("Reversed"), "outcome " + c);
            check(backend.count("submit") == 0 && backend.count("query") == 0, "requests " + backend.requests);
            check(!backend.last("reverse").params.containsKey("attempt"), "reverse params are v2 keys only " + backend.last("reverse").params);
            Map<String, Object> q = query.next("orderquery");
            // Reversed: the backend reported no trade_state, so none is invented.
            ok(q, "orderquery", "facepay_state");
            check("REVERSED".equals(q.get("facepay_state")) && q.get("trade_state") == null
                && "T-rust-rev".equals(q.get("out_trade_no")), "orderquery " + q);
            err(pay1.next("micropay"), "micropay of a reversed order", "REVERSED");
            ok(init.next("initWxpayface"), "initWxpayface after the conclusion");
            check(!new File(path).exists(), "journal cleared");
        }
    }

    /** An in-memory journal that can break: write throws IOException, read and clear a RuntimeException. */
    static final class FlakyJournal implements FacePayJournal {
        volatile boolean broken;
        volatile byte[] stored;
        final AtomicInteger writes = new AtomicInteger();

        @Override
        public byte[] read() {
            if (broken) {
                throw new IllegalStateException("flash controller gone");
            }
            return stored;
        }

        @Override
        public void write(byte[] record) throws IOException {
            writes.incrementAndGet();
            if (broken) {
                throw new IOException("No space left on device");
            }
            stored = record.clone();
        }

        @Override
        public void clear() {
            if (broken) {
                throw new IllegalStateException("flash controller gone");
            }
            stored = null;
        }
    }

    /** A backend with a ledger: a query knows only the orders whose submit reached it. */
    static class LedgerBackend extends Backend {
        final java.util.Set<String> submitted = java.util.concurrent.ConcurrentHashMap.newKeySet();

        @Override
        Map<String, Object> answer(BackendRequest r) {
            String otn = r.params.get("out_trade_no");
            if (r.op.equals("submit")) {
                submitted.add(otn);
            } else if (r.op.equals("query") && !submitted.contains(otn)) {
                return map("return_code", "SUCCESS", "result_code", "FAIL", "err_code", "ORDERNOTEXIST");
            }
            return super.answer(r);
        }
    }

    /**
     * Waits for the notice that the submit of {@code outTradeNo} was withheld. The face
     * scan answers on another thread: the clock may move only after it, or the scan would
     * time out instead.
     */
    static void awaitWithheld(NoticeRecorder rec, String outTradeNo) throws InterruptedException {
        for (int i = 0; i < 6000 && !rec.saw("JournalFailed", "submit=withheld", "out_trade_no=" + outTradeNo); i++) {
            Thread.sleep(5);
        }
        check(rec.saw("JournalFailed", "submit=withheld", "out_trade_no=" + outTradeNo, "phase=Submitting", "No space left"),
            "no withheld-submit notice " + rec.journal + "; logs " + rec.logs);
    }

    /**
     * (c) A journal that throws: logged loudly, the listener told, no crash; the order in
     * hand is not submitted (its record could not be written) and concludes NotPaid; new orders are refused (JOURNAL_FAILED) until the journal works again.
     */
    static void journalWriteFails() throws Exception {
        NoticeRecorder rec = new NoticeRecorder();
        FlakyJournal journal = new FlakyJournal();
        LedgerBackend backend = new LedgerBackend();
        backend.sameThread = true;
        try (FacePaySession s = new FacePaySession(new Context(), WxPayFace.getInstance(), map("clock", "manual"), backend, rec, journal)) {
            s.start(map(), merchant());
            rec.awaitNotice("Ready");
            s.advanceClock(10);
            awaitState(s, "Idle");
            journal.broken = true;
            s.startOrder(map("out_trade_no", "T-j1", "total_fee", "1", "face_code_type", "1"));
            awaitWithheld(rec, "T-j1");
            advanceUntil(s, rec, 1000, 600_000, 1000);
            Map<String, String> c = rec.awaitConclusion();
            check(c.get("out_trade_no").equals("T-j1") && c.get("outcome").equals("NotPaid") && c.get("reason").equals("JournalUnavailable"), "the withheld order: " + c);
            check(rec.logs.stream().anyMatch(l -> l.startsWith("JOURNAL FAILED") && l.contains("T-j1")), "loud log " + rec.logs);
            awaitState(s, "Idle");
            int scans = count(WxPayFace.CALLS, "getWxpayfaceCode");
            s.startOrder(map("out_trade_no", "T-j2", "total_fee", "1", "face_code_type", "1"));
            Thread.sleep(20);
            check(rec.saw("JournalFailed", "operation=start_order", "out_trade_no=T-j2"), "refusal notice " + rec.journal);
            check(count(WxPayFace.CALLS, "getWxpayfaceCode") == scans && s.state().equals("Idle"), "a refused order was scanned: " + WxPayFace.CALLS);
            check(backend.count("submit") == 0, "submits " + backend.count("submit"));
            journal.broken = false;
            s.startOrder(map("out_trade_no", "T-j3", "total_fee", "1", "face_code_type", "1"));
            c = rec.awaitConclusion();
            check(c.get("out_trade_no").equals("T-j3") && c.get("outcome").equals("Paid"), "after healing " + c);
            check(backend.count("submit") == 1, "submits " + backend.count("submit"));
            check(rec.saw("JournalHealthy"), "healthy notice " + rec.journal);
            check(journal.stored == null, "journal cleared after the conclusion");
            check(!s.state().equals("Closed"), "session alive");
        }
        // Through the facade, with a journal that cannot even be read at start.
        WxPayFace.reset();
        NoticeRecorder rec2 = new NoticeRecorder();
        FlakyJournal broken = new FlakyJournal();
        broken.broken = true;
        Map<String, Object> config = merchant();
        config.put("clock", "manual");
        try (WxFacePay pay = new WxFacePay(new Context(), config, new Backend(), rec2, broken)) {
            check(rec2.saw("JournalFailed", "operation=read", "flash controller gone"), "read failure " + rec2.journal);
            check(rec2.notices.contains("JournalUnreadable"), "unreadable " + rec2.notices);
            Answers a = new Answers();
            pay.initWxpayface(a);
            ok(a.next("initWxpayface"), "initWxpayface");
            pay.session().advanceClock(10);
            pay.getWxpayfaceCode(map("out_trade_no", "T-f1", "total_fee", "1", "face_code_type", "1"), a);
            err(a.next("order while the journal fails"), "order while the journal fails", "JOURNAL_FAILED");
            broken.broken = false;
            pay.getWxpayfaceCode(map("out_trade_no", "T-f2", "total_fee", "1", "face_code_type", "1"), a);
            ok(a.next("getWxpayfaceCode once the journal works"), "getWxpayfaceCode", "face_code");
            pay.micropay(map("out_trade_no", "T-f2"), a);
            ok(a.next("micropay"), "micropay");
        }
    }

    /**
     * (e) The journal throws on the write before the submit: no micropay reaches the
     * backend, the listener hears the submit was withheld, and the order concludes
     * NotPaid (JournalUnavailable) at once: never sent, so nothing to query or reverse.
     */
    static void journalSubmitWithheld() throws Exception {
        NoticeRecorder rec = new NoticeRecorder();
        FlakyJournal journal = new FlakyJournal();
        LedgerBackend backend = new LedgerBackend();
        backend.sameThread = true;
        Map<String, Object> options = map("clock", "manual");
        if (traceTo != null) {
            options.put("trace_path", traceTo);
        }
        try (FacePaySession s = new FacePaySession(new Context(), WxPayFace.getInstance(), options, backend, rec, journal)) {
            s.start(map(), merchant());
            rec.awaitNotice("Ready");
            s.advanceClock(10);
            awaitState(s, "Idle");
            journal.broken = true;
            s.startOrder(map("out_trade_no", "T-w1", "total_fee", "100", "face_code_type", "1"));
            awaitWithheld(rec, "T-w1");
            check(backend.count("submit") == 0, "a submit went out: " + backend.requests);
            check(rec.logs.stream().anyMatch(l -> l.startsWith("JOURNAL FAILED") && l.contains("WITHHELD") && l.contains("T-w1")),
                "loud log " + rec.logs);
            advanceUntil(s, rec, 1000, 600_000, 1000);
            Map<String, String> c = rec.awaitConclusion();
            check(c.get("out_trade_no").equals("T-w1") && c.get("outcome").equals("NotPaid") && c.get("reason").equals("JournalUnavailable"), "outcome " + c);
            // Never sent, so nothing to query or reverse.
            check(backend.count("submit") == 0, "a submit went out: " + backend.requests);
            check(backend.count("query") == 0 && backend.count("reverse") == 0, "query/reverse " + backend.requests);
            check(!rec.saw("JournalFailed", "submit=withheld", "phase=Querying"), "only the submit is withheld " + rec.journal);
            awaitState(s, "Idle");
        }
    }

    /**
     * (e) through the facade: the order concludes before getWxpayfaceCode is answered, so
     * the app hears NOT_SUBMITTED (JournalUnavailable) and never a face code to pay with.
     */
    static void journalSubmitWithheldFacade() throws Exception {
        WxPayFace.reset();
        NoticeRecorder rec = new NoticeRecorder();
        FlakyJournal journal = new FlakyJournal();
        LedgerBackend backend = new LedgerBackend();
        backend.sameThread = true;
        Map<String, Object> config = merchant();
        config.put("clock", "manual");
        try (WxFacePay pay = new WxFacePay(new Context(), config, backend, rec, journal)) {
            Answers a = new Answers();
            pay.initWxpayface(a);
            ok(a.next("initWxpayface"), "initWxpayface");
            pay.session().advanceClock(10);
            journal.broken = true;
            pay.getWxpayfaceCode(map("out_trade_no", "T-w2", "total_fee", "100", "face_code_type", "1"), a);
            Map<String, Object> code = a.next("getWxpayfaceCode");
            err(code, "getWxpayfaceCode of a withheld submit", "NOT_SUBMITTED");
            check("JournalUnavailable".equals(code.get("msg")) && "T-w2".equals(code.get("out_trade_no")), "getWxpayfaceCode " + code);
            awaitWithheld(rec, "T-w2");
            check(backend.count("submit") == 0, "a submit went out: " + backend.requests);
        }
    }

    static int count(List<String> calls, String method) {
        synchronized (calls) {
            return (int) calls.stream().filter(method::equals).count();
        }
    }

    /**
     * (d) arg "torn|garbage": a record with a flipped byte resumes its order as ambiguous
     * (queried, never submitted) and reports the damage; a record with nothing readable
     * reports JournalUnreadable and the session starts fresh.
     */
    static void journalTornRecord(String arg) throws Exception {
        String[] paths = arg.split("\\|");
        NoticeRecorder rec = new NoticeRecorder();
        Backend backend = new Backend();
        backend.sameThread = true;
        try (FacePaySession s = new FacePaySession(new Context(), map("clock", "manual", "journal_path", paths[0]), backend, rec)) {
            check(rec.saw("JournalDamaged", "out_trade_no=T-torn", "checksum"), "damage notice " + rec.journal);
            check(rec.logs.stream().anyMatch(l -> l.startsWith("JOURNAL DAMAGED")), "loud log " + rec.logs);
            check(s.state().equals("Querying"), "resumed as ambiguous in " + s.state());
            advanceUntil(s, rec, 1000, 40_000, 1000);
            Map<String, String> c = rec.awaitConclusion();
            // The damaged record may have been a Paid conclusion or a reverse on its way:
            // a salvaged order the backend reports paid is left to a person, with its
            // transaction_id.
            check(c.get("out_trade_no").equals("T-torn") && c.get("outcome").equals("NeedsReconciliation")
                    && c.get("reason").equals("JournalDamaged") && c.get("transaction_id").equals("4200000001"),
                    "outcome " + c);
            check(backend.count("submit") == 0, "submitted");
            check(!new File(paths[0]).exists(), "journal cleared");
        }
        WxPayFace.reset();
        NoticeRecorder rec2 = new NoticeRecorder();
        try (FacePaySession s = new FacePaySession(new Context(), map("clock", "manual", "journal_path", paths[1]), new Backend(), rec2)) {
            check(rec2.notices.contains("JournalUnreadable"), "unreadable " + rec2.notices);
            check(rec2.saw("JournalDamaged", "out_trade_no=}", "checksum"), "damage notice " + rec2.journal);
            check(s.state().equals("Uninitialized"), "fresh session " + s.state());
            s.start(map(), merchant());
            rec2.awaitNotice("Ready");
        }
    }

    /**
     * (b) FileJournal replaces atomically: a concurrent reader of the file only ever sees a
     * complete record; a stray temp file (a crash between the temp write and the rename)
     * is ignored and removed; clear empties it.
     */
    static void fileJournalAtomic() throws Exception {
        File dir = Files.createTempDirectory("facepay-journal").toFile();
        File file = new File(dir, "journal");
        File temp = new File(dir, "journal.tmp");
        FileJournal j = new FileJournal(file);
        check(j.read() == null, "empty journal");
        j.clear(); // nothing to clear: fine
        final java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        final AtomicInteger reads = new AtomicInteger();
        final List<String> torn = Collections.synchronizedList(new ArrayList<String>());
        j.write(record(0));
        Thread reader = new Thread(() -> {
            while (!stop.get()) {
                try {
                    byte[] b = Files.readAllBytes(file.toPath());
                    reads.incrementAndGet();
                    boolean same = b.length == 64;
                    for (byte x : b) {
                        same &= x == b[0];
                    }
                    if (!same) {
                        torn.add(Arrays.toString(b));
                    }
                } catch (NoSuchFileException e) {
                    torn.add("the file vanished during a replace");
                } catch (IOException e) {
                    torn.add(e.toString());
                }
            }
        }, "journal-reader");
        reader.start();
        for (int i = 1; i <= 300; i++) {
            j.write(record(i));
            check(Arrays.equals(j.read(), record(i)), "read after write " + i);
            check(!temp.exists(), "temp left after write " + i);
        }
        stop.set(true);
        reader.join();
        check(torn.isEmpty(), "reader saw " + torn.size() + " torn states, e.g. " + (torn.isEmpty() ? "" : torn.get(0)));
        check(reads.get() > 0, "the reader never read");
        // A crash while the temp file was being written: a partial record in it.
        Files.write(temp.toPath(), new byte[] {'F', 'P', 'J', 'R', 1, 0});
        check(Arrays.equals(j.read(), record(300)), "stray partial temp file read");
        check(!temp.exists(), "stray temp file kept");
        // A crash after the temp fsync but before the rename: the newer record never took effect.
        Files.write(temp.toPath(), record(301));
        check(Arrays.equals(j.read(), record(300)), "an unrenamed record took effect");
        j.clear();
        check(j.read() == null && !file.exists(), "cleared");
        Files.write(temp.toPath(), record(302));
        check(j.read() == null && !temp.exists(), "a stray temp file alone is no record");
        // Directories that do not exist yet are made.
        FileJournal nested = new FileJournal(new File(dir, "a/b/journal"));
        nested.write(record(7));
        check(Arrays.equals(nested.read(), record(7)), "nested");
        nested.clear();
    }

    static byte[] record(int i) {
        byte[] b = new byte[64];
        Arrays.fill(b, (byte) i);
        return b;
    }
}
