package com.facepay.device;

import com.tencent.wxpayface.IWxPayfaceCallback;
import java.util.Map;

/**
 * Forwards every {@code response(Map)} of one SDK call to the session, as it comes: on a
 * Binder thread, twice, or after the session stopped waiting. The session decides what a
 * late or duplicate answer means; this class never throws into the SDK.
 */
final class SdkCallback extends IWxPayfaceCallback {
    private final FacePaySession session;
    private final long id;
    private final int kind;

    SdkCallback(FacePaySession session, long id, int kind) {
        this.session = session;
        this.id = id;
        this.kind = kind;
    }

    @Override
    @SuppressWarnings("rawtypes")
    public void response(Map info) {
        try {
            FacePaySession.nativeSdkAnswer(session.handle(), id, kind, info);
        } catch (Throwable t) {
            session.log("SDK callback #" + id + " not delivered: " + t);
        }
    }
}
