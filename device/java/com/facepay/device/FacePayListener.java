package com.facepay.device;

import java.util.Map;

/** What the cashier UI hears. Called on the thread that ran the session step; return quickly. */
public interface FacePayListener {
    /**
     * A notice: Ready, SdkUnavailable, OrderConcluded (fields out_trade_no, outcome = Paid |
     * NotPaid | Reversed | NeedsReconciliation, reason, transaction_id), UserIdentified,
     * UserNotIdentified, Released. Persist an OrderConcluded before showing it.
     */
    void onNotice(String kind, Map<String, String> fields);

    /** The session's state changed (e.g. ScanningFace, Submitting, Querying, Idle). */
    default void onStateChanged(String state) {}

    /** A log line (diagnostics, unreadable SDK maps, errors of host code). */
    default void onLog(String line) {}
}
