package com.facepay.device;

import android.content.ComponentName;
import android.content.Context;
import android.content.Intent;
import android.content.ServiceConnection;
import android.os.IBinder;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Watches the face app's service for its death, so that the machine hears it as the
 * service-lost event it expects (its own calls would only learn of it from the SDK's
 * 271378620 answer, ten seconds later). The AAR keeps its own binder to itself, so this
 * is a second connection to the same service ({@code com.tencent.faceservice} in package
 * {@code com.tencent.wxpayface}): when the face app's process dies, both die. It binds with
 * flags 0, so it never starts the service itself (the SDK's {@code initWxpayface} does),
 * and links an {@link IBinder.DeathRecipient} to the binder it gets. One death is reported
 * once, whether it arrives as {@code binderDied} or {@code onServiceDisconnected}; when the
 * service is back, the face app's version is read again (it may have been updated).
 *
 * <p>On Android 11+ the app's manifest must declare
 * {@code <queries><package android:name="com.tencent.wxpayface"/></queries>}, or the bind
 * and the version read fail (the session logs it and falls back to the SDK's error codes
 * and the policy's {@code sdk_version}).
 */
final class FaceServiceWatch implements ServiceConnection, IBinder.DeathRecipient {
    static final String ACTION = "com.tencent.faceservice";
    static final String PACKAGE = "com.tencent.wxpayface";

    private final Context context;
    private final FacePaySession session;
    /** True between a connection and the death report: one death, one event. */
    private final AtomicBoolean alive = new AtomicBoolean(false);
    private volatile IBinder binder;
    private volatile boolean bound;

    private FaceServiceWatch(Context context, FacePaySession session) {
        this.context = context;
        this.session = session;
    }

    /** Starts watching (a no-op without a context); never throws. */
    static FaceServiceWatch watch(Context context, FacePaySession session) {
        FaceServiceWatch w = new FaceServiceWatch(context, session);
        if (context == null) {
            return w;
        }
        try {
            w.bound = context.bindService(new Intent(ACTION).setPackage(PACKAGE), w, 0);
        } catch (Throwable t) {
            session.log("cannot watch the face service: " + t);
        }
        if (!w.bound) {
            session.log("the face service cannot be watched: a death is seen only through the SDK's answers");
        }
        return w;
    }

    @Override
    public void onServiceConnected(ComponentName name, IBinder service) {
        binder = service;
        try {
            service.linkToDeath(this, 0);
            alive.set(true);
        } catch (Throwable t) {
            // Already dead (DeadObjectException): it went away before we could watch it.
            session.log("the face service died while connecting: " + t);
            alive.set(true);
            lost();
            return;
        }
        session.reportFaceAppVersion();
    }

    @Override
    public void onServiceDisconnected(ComponentName name) {
        lost();
    }

    @Override
    public void binderDied() {
        lost();
    }

    private void lost() {
        if (!alive.getAndSet(false)) {
            return;
        }
        IBinder b = binder;
        if (b != null) {
            try {
                b.unlinkToDeath(this, 0);
            } catch (Throwable ignored) {
                // Dead binders may refuse; nothing is left to unlink.
            }
        }
        session.serviceLost();
    }

    /** Stops watching; never throws. */
    void close() {
        alive.set(false);
        if (bound && context != null) {
            try {
                context.unbindService(this);
            } catch (Throwable t) {
                session.log("unbinding the face service watch threw " + t);
            }
        }
    }
}
