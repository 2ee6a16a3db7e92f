package com.facepay.device;

import java.io.IOException;

/**
 * Where a session keeps its power-loss journal: the one 64-byte record (format
 * docs/journal-format.md) of an order whose money may be moving, from its submit until its
 * conclusion. The session writes a record before every settling step and resumes from it
 * when it is created, so an order in flight at a power loss or a kill is queried or
 * reversed after the restart, never forgotten and never submitted again.
 *
 * <p>One journal per terminal and session; calls come one at a time from the thread that
 * runs the session's step. {@link FileJournal} is the default implementation.
 */
public interface FacePayJournal {
    /** The stored record, or null (or an empty array) when nothing is stored. */
    byte[] read() throws IOException;

    /**
     * Replaces the stored record with {@code record}. It must be durable when this returns
     * (the session sends the submit or reverse right after): a reader after a power loss
     * sees this record or the previous one, never a mix. Throw if it could not be written:
     * a submit this record was guarding is then not sent (the order is closed by query and
     * reverse); a later step goes ahead, reported.
     */
    void write(byte[] record) throws IOException;

    /** Removes the stored record durably: nothing is in flight. */
    void clear() throws IOException;
}
