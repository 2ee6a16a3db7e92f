package com.tencent.wxpayface;

import android.content.Context;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scriptable stand-in for the WxPayFace SDK (same package and method signatures as the
 * AAR). Each call is recorded; the script decides the answer. By default every call answers
 * SUCCESS on a fresh "binder" thread, as the real service does from its Binder pool.
 */
public class WxPayFace {
    /** Decides how one call is answered; {@code cb} may be kept and answered later. */
    public interface Script {
        void handle(String method, Map<String, String> args, IWxPayfaceCallback cb);
    }

    private static final WxPayFace INSTANCE = new WxPayFace();
    private static final AtomicInteger THREADS = new AtomicInteger();
    /** Scans since reset: like the real face app, every scan yields a fresh, single-use code. */
    private static final AtomicInteger SCANS = new AtomicInteger();
    public static final List<String> CALLS = Collections.synchronizedList(new ArrayList<String>());
    public static final List<Map<String, String>> ARGS = Collections.synchronizedList(new ArrayList<Map<String, String>>());
    public static volatile Script script = WxPayFace::answerSuccess;

    public static WxPayFace getInstance() {
        return INSTANCE;
    }

    public static void reset() {
        CALLS.clear();
        ARGS.clear();
        SCANS.set(0);
        script = WxPayFace::answerSuccess;
    }

    /** Answers {@code info} to {@code cb} on a new thread, as a Binder thread would. */
    @SuppressWarnings("rawtypes")
    public static void answerLater(IWxPayfaceCallback cb, Map info) {
        Thread t = new Thread(() -> {
            try {
                cb.response(info);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }, "binder-" + THREADS.incrementAndGet());
        t.start();
    }

    public static Map<String, Object> success() {
        Map<String, Object> m = new HashMap<>();
        m.put("return_code", "SUCCESS");
        m.put("return_msg", "");
        return m;
    }

    /** The default script: SUCCESS with a plausible payload for each call. */
    public static void answerSuccess(String method, Map<String, String> args, IWxPayfaceCallback cb) {
        Map<String, Object> m = success();
        switch (method) {
            case "getWxpayfaceRawdata":
                m.put("rawdata", "RAWDATA-1");
                break;
            case "getWxpayfaceCode":
                boolean micropay = "1".equals(args.get("face_code_type"));
                int n = SCANS.getAndIncrement();
                m.put("face_code", micropay
                        ? String.format("1345678901234%05d", 56789 + n)
                        : String.format("b713b5d2-666c-%02d", 48 + n));
                m.put("openid", "o-user-1");
                m.put("sub_openid", "");
                m.put("underage_state", Integer.valueOf(1));
                m.put("telephone_used", "0");
                break;
            case "startCodeScanner":
                m.put("code_msg", "134567890123456789");
                break;
            case "getWxpayfaceUserInfo":
                m.put("openid", "o-user-1");
                m.put("sub_openid", "o-sub-1");
                m.put("nickname", "张三");
                break;
            default:
                break;
        }
        answerLater(cb, m);
    }

    private void call(String method, Map<String, String> args, IWxPayfaceCallback cb) {
        // ARGS first: a reader that finds `method` in CALLS on another thread reads its ARGS.
        ARGS.add(args == null ? new HashMap<String, String>() : new HashMap<>(args));
        CALLS.add(method);
        script.handle(method, args == null ? new HashMap<String, String>() : args, cb);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public void initWxpayface(Context context, Map info, IWxPayfaceCallback cb) {
        call("initWxpayface", info, cb);
    }

    public void getWxpayfaceRawdata(IWxPayfaceCallback cb) {
        call("getWxpayfaceRawdata", null, cb);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public void getWxpayfaceCode(Map info, IWxPayfaceCallback cb) {
        call("getWxpayfaceCode", info, cb);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public void getWxpayfaceUserInfo(Map info, IWxPayfaceCallback cb) {
        call("getWxpayfaceUserInfo", info, cb);
    }

    public void startCodeScanner(IWxPayfaceCallback cb) {
        call("startCodeScanner", null, cb);
    }

    public void stopCodeScanner() {
        // ARGS stays index-aligned with CALLS.
        ARGS.add(new HashMap<String, String>());
        CALLS.add("stopCodeScanner");
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public void stopWxpayface(Map info, IWxPayfaceCallback cb) {
        call("stopWxpayface", info, cb);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public void updateWxpayfacePayResult(Map info, IWxPayfaceCallback cb) {
        call("updateWxpayfacePayResult", info, cb);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public void updateWxpayfaceBannerState(Map info, IWxPayfaceCallback cb) {
        call("updateWxpayfaceBannerState", info, cb);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public void reportOrder(Map info, IWxPayfaceCallback cb) {
        call("reportOrder", info, cb);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public void reportInfo(Map info, IWxPayfaceCallback cb) {
        call("reportInfo", info, cb);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public void enableFirewall(Map info, IWxPayfaceCallback cb) {
        call("enableFirewall", info, cb);
    }

    public void disableFirewall(IWxPayfaceCallback cb) {
        call("disableFirewall", null, cb);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public void getWxpayAuth(Map info, IWxPayfaceCallback cb) {
        call("getWxpayAuth", info, cb);
    }

    public void ttsSpeak(String text) {
        Map<String, String> m = new HashMap<>();
        m.put("text", text);
        ARGS.add(m);
        CALLS.add("ttsSpeak");
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public void reportPaycode(Map info, IWxPayfaceCallback cb) {
        call("reportPaycode", info, cb);
    }

    public void releaseWxpayface(Context context) {
        ARGS.add(new HashMap<String, String>());
        CALLS.add("releaseWxpayface");
    }
}
