package android.os;

/** Stand-in for Android's IBinder (desktop tests only): the death notification part. */
public interface IBinder {
    /** Called when the process hosting the binder has gone away. */
    interface DeathRecipient {
        void binderDied();
    }

    void linkToDeath(DeathRecipient recipient, int flags) throws RemoteException;

    boolean unlinkToDeath(DeathRecipient recipient, int flags);

    boolean isBinderAlive();
}
