package android.os;

/** Stand-in for Android's RemoteException (desktop tests only). */
public class RemoteException extends Exception {
    public RemoteException() {}

    public RemoteException(String message) {
        super(message);
    }
}
