package com.facepay.device;

import java.util.Collections;
import java.util.Map;

/** One backend operation the session asks for. */
public final class BackendRequest {
    /** get_wxpayface_authinfo, submit, query or reverse. */
    public final String op;
    /** The v2 API path, e.g. /pay/micropay or /secapi/pay/facepayreverse. */
    public final String path;
    /** Its parameters (rawdata, out_trade_no, total_fee, face_code or auth_code, ...). */
    public final Map<String, String> params;

    BackendRequest(String op, String path, Map<String, String> params) {
        this.op = op;
        this.path = path;
        this.params = Collections.unmodifiableMap(params);
    }

    @Override
    public String toString() {
        return op + " " + path + " " + params.keySet();
    }
}
