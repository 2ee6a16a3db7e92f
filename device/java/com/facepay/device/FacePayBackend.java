package com.facepay.device;

/**
 * The merchant's server, provided by the host app: executes one backend operation
 * (get_wxpayface_authinfo, submit, query, reverse) and answers through {@code reply},
 * on any thread, now or later. The server signs and sends the WeChat Pay v2 request.
 * A submit must never be retried by the host: the session decides what happens next.
 */
public interface FacePayBackend {
    void execute(BackendRequest request, BackendReply reply);
}
