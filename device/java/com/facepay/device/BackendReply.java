package com.facepay.device;

import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * How the host's backend answers one request. Exactly one of the methods counts; later
 * calls are ignored (the session would ignore a duplicate anyway).
 */
public final class BackendReply {
    private final FacePaySession session;
    private final long id;
    private final String op;
    private final AtomicBoolean done = new AtomicBoolean();

    BackendReply(FacePaySession session, long id, String op) {
        this.session = session;
        this.id = id;
        this.op = op;
    }

    /** The v2 response fields (return_code, result_code, err_code, trade_state, recall, authinfo, expires_in, transaction_id...). */
    public void answer(Map<String, ?> fields) {
        if (done.compareAndSet(false, true)) {
            FacePaySession.nativeBackendAnswer(session.handle(), id, op, fields);
        }
    }

    /** No usable answer: "timeout", "connection" or "unparseable". Ambiguous for a submit. */
    public void fail(String kind) {
        if (done.compareAndSet(false, true)) {
            FacePaySession.nativeBackendFailed(session.handle(), id, op, kind, 0);
        }
    }

    /** An HTTP status other than 200. */
    public void httpStatus(int status) {
        if (done.compareAndSet(false, true)) {
            FacePaySession.nativeBackendFailed(session.handle(), id, op, "http", status);
        }
    }
}
