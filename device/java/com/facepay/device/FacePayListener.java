package com.facepay.device;

import java.util.Map;

/** What the cashier UI hears. Called on the thread that ran the session step; return quickly. */
public interface FacePayListener {
    /**
     * A notice: Ready, SdkUnavailable, OrderConcluded (fields out_trade_no, outcome = Paid |
     * NotPaid | Reversed | NeedsReconciliation, reason, transaction_id), UserIdentified,
     * UserNotIdentified, Released. Persist an OrderConcluded before showing it.
     *
     * <p>The power-loss journal adds: JournalResumed (out_trade_no, phase: an order from
     * before the restart is being settled), JournalDamaged (error, out_trade_no: the stored
     * record was torn; the order is settled as ambiguous, or, with no out_trade_no, cannot
     * be), JournalUnreadable (nothing could be read: reconcile the day's orders),
     * JournalFailed (operation = read | write | start_order, error, out_trade_no, phase:
     * the journal cannot be written, so an order in flight would be lost at a power loss;
     * new orders are refused until it works; with submit = withheld, the record before
     * the pay submission failed and the submission was not sent: nothing was charged, and
     * the order concludes NotPaid with reason JournalUnavailable at once) and
     * JournalHealthy (it works again). Show the failures to the cashier: they need a person.
     */
    void onNotice(String kind, Map<String, String> fields);

    /** The session's state changed (e.g. ScanningFace, Submitting, Querying, Idle). */
    default void onStateChanged(String state) {}

    /** A log line (diagnostics, unreadable SDK maps, errors of host code). */
    default void onLog(String line) {}
}
