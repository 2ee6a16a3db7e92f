package com.facepay.device;

/**
 * The merchant's server, provided by the host app: executes one backend operation
 * (get_wxpayface_authinfo, submit, query, reverse) and answers through {@code reply},
 * on any thread, now or later. The server signs and sends the WeChat Pay v2 request.
 * A submit must never be retried by the host: the session decides what happens next.
 *
 * <p><b>Threads.</b> {@code execute} may block (a synchronous HTTP call is fine): it is
 * never called on the timer thread all sessions share. A call that a timer caused (a
 * query, a reverse, an authinfo refresh) runs on a thread of the session's own
 * ({@code facepay-backend}); any other runs on the thread that delivered the input that
 * caused it (the app's thread for {@code startOrder}, a Binder thread for an SDK callback,
 * the thread that answered the previous request). The session's deadline
 * ({@code backend_deadline}) runs regardless: an answer after it is ignored, so a slow
 * call costs time, never a wrong verdict.
 */
public interface FacePayBackend {
    void execute(BackendRequest request, BackendReply reply);
}
