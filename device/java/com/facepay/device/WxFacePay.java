package com.facepay.device;

import android.content.Context;
import java.util.HashMap;
import java.util.Map;

/**
 * A drop-in for the APICloud {@code wxFacePay} module: the same ten operations, the same
 * parameter keys, the same answer shapes ({@code {status: true, ...}} or
 * {@code {status: false, errorCode, msg}}). The facepay machine still decides:
 * getWxpayfaceCode starts an order that the machine pays by itself through the host
 * backend; micropay answers with the concluded outcome (after any queries and reversal);
 * orderquery and reverse report what the machine's rules made of the current order; a call
 * the machine refuses (a new order or a release while one settles) answers
 * {@code status: false} with errorCode SETTLING, BUSY, NOT_STARTED, ...
 *
 * <p>{@code config} holds the merchant identity (appid, mch_id, sub_appid, sub_mch_id,
 * store_id), which the module took per call, and any {@link FacePaySession} options.
 */
public final class WxFacePay implements AutoCloseable {
    /** The module's callback(ret). */
    public interface Callback {
        void callback(Map<String, Object> ret);
    }

    private static final String[] MERCHANT_KEYS = {"appid", "mch_id", "sub_appid", "sub_mch_id", "store_id"};

    private final FacePaySession session;
    private final Map<String, Object> merchant = new HashMap<>();

    /** With the default journal ({@link FacePaySession#defaultJournal}; config may hold journal_path). */
    public WxFacePay(Context context, Map<String, ?> config, FacePayBackend backend, FacePayListener listener) {
        this(context, config, backend, listener, FacePaySession.defaultJournal(context, config));
    }

    /**
     * With an explicit power-loss journal (null: none). After a restart the journalled
     * order is the current one: micropay, orderquery and reverse act on it and answer once
     * it has concluded.
     */
    public WxFacePay(Context context, Map<String, ?> config, FacePayBackend backend, FacePayListener listener,
            FacePayJournal journal) {
        Map<String, Object> options = new HashMap<>();
        if (config != null) {
            for (Map.Entry<String, ?> e : config.entrySet()) {
                if (isMerchantKey(e.getKey())) {
                    merchant.put(e.getKey(), e.getValue());
                } else {
                    options.put(e.getKey(), e.getValue());
                }
            }
        }
        session = new FacePaySession(context, options, backend, listener, journal);
    }

    private static boolean isMerchantKey(String k) {
        for (String m : MERCHANT_KEYS) {
            if (m.equals(k)) {
                return true;
            }
        }
        return false;
    }

    /** The session underneath (state, clock, close). */
    public FacePaySession session() {
        return session;
    }

    private static Map<String, ?> orEmpty(Map<String, ?> m) {
        return m == null ? new HashMap<String, Object>() : m;
    }

    private void call(int op, Map<String, ?> params, Map<String, ?> merchantKeys, Callback cb) {
        session.facadeCall(op, orEmpty(params), merchantKeys, cb::callback);
    }

    /**
     * initWxpayface: the seed's nested {@code proxy: {ip, port, user, passwd, proxy_type,
     * tcp_port}} object or the same keys flat, and perform_mode. A second call answers
     * SUCCESS; new proxy settings are applied (a release and a new start, once no order
     * is in progress). An unknown key is refused by name (PARAM_ERROR).
     */
    public void initWxpayface(Map<String, ?> params, Callback cb) {
        Map<String, Object> m = new HashMap<>(merchant);
        Map<String, Object> flat = new HashMap<>();
        if (params != null) {
            for (String k : MERCHANT_KEYS) {
                if (params.containsKey(k)) {
                    m.put(k, params.get(k));
                }
            }
            flat.putAll(params);
            Object proxy = flat.remove("proxy");
            if (proxy instanceof Map) {
                // Native code reads flat maps: the nested object's keys join the others.
                for (Map.Entry<?, ?> e : ((Map<?, ?>) proxy).entrySet()) {
                    String k = String.valueOf(e.getKey());
                    Object before = flat.get(k);
                    if (before != null && !String.valueOf(before).equals(String.valueOf(e.getValue()))) {
                        cb.callback(paramError("initWxpayface: `proxy." + k + "` = " + e.getValue()
                            + " disagrees with the flat key `" + k + "` = " + before));
                        return;
                    }
                    flat.put(k, e.getValue());
                }
            } else if (proxy != null) {
                cb.callback(paramError("initWxpayface: `proxy` must be an object, not " + proxy));
                return;
            }
        }
        call(10, flat, m, cb);
    }

    private static Map<String, Object> paramError(String msg) {
        Map<String, Object> ret = new HashMap<>();
        ret.put("status", Boolean.FALSE);
        ret.put("errorCode", "PARAM_ERROR");
        ret.put("msg", msg);
        return ret;
    }

    public void initWxpayface(Callback cb) {
        initWxpayface(null, cb);
    }

    /** getWxpayfaceRawdata: {status, rawdata} once the session has fetched it. */
    public void getWxpayfaceRawdata(Callback cb) {
        call(11, null, null, cb);
    }

    /** getWxpayFaceAuthInfo: {status, authinfo, expires_in (a number, seconds left)}, fetched by the session through the backend; never one in its last minute. */
    public void getWxpayFaceAuthInfo(Map<String, ?> params, Callback cb) {
        call(12, params, null, cb);
    }

    public void getWxpayFaceAuthInfo(Callback cb) {
        getWxpayFaceAuthInfo(null, cb);
    }

    /** getWxpayfaceUserInfo: {status, openid, sub_openid, nickname, token, unionid_code, unionid_msg}. */
    public void getWxpayfaceUserInfo(Map<String, ?> params, Callback cb) {
        call(13, params, null, cb);
    }

    /** getWxpayfaceCode: answered once the session has submitted the order: {status: true, face_code (or auth_code after SCAN_PAYMENT), openid, sub_openid, telephone_used, underage_state (numbers)}; status false (NOT_SUBMITTED, ...) only when nothing was submitted. */
    public void getWxpayfaceCode(Map<String, ?> params, Callback cb) {
        call(14, params, null, cb);
    }

    /** micropay: the concluded outcome of the order: {status: true, out_trade_no, transaction_id, total_fee, outcome: "Paid"} or errorCode NOT_PAID, REVERSED, NEEDS_RECONCILIATION (do not ask the customer to pay again); a total_fee or auth_code other than the one submitted is ORDER_MISMATCH and nothing is sent. */
    public void micropay(Map<String, ?> params, Callback cb) {
        call(15, params, null, cb);
    }

    /** orderquery: any of the terminal's recent orders, once concluded: {status: true, out_trade_no, outcome, facepay_state, trade_state (only as the backend reported it), transaction_id}. */
    public void orderquery(Map<String, ?> params, Callback cb) {
        call(16, params, null, cb);
    }

    /** reverse: {status: true, recall: "N"} when the order is reversed or was never charged; errorCode ORDER_PAID for a paid one. */
    public void reverse(Map<String, ?> params, Callback cb) {
        call(17, params, null, cb);
    }

    /** updateWxpayfacePayResult: the session reports by itself; this answers once it has, and refuses a payresult that contradicts the outcome. */
    public void updateWxpayfacePayResult(Map<String, ?> params, Callback cb) {
        call(18, params, null, cb);
    }

    /** releaseWxpayface: refused (SETTLING) while an order may still move money. */
    public void releaseWxpayface(Map<String, ?> params, Callback cb) {
        call(19, params, null, cb);
    }

    public void releaseWxpayface(Callback cb) {
        releaseWxpayface(null, cb);
    }

    @Override
    public void close() {
        session.close();
    }
}
