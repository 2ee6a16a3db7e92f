package android.content;

import android.os.IBinder;

/** Stand-in for Android's ServiceConnection (desktop tests only). */
public interface ServiceConnection {
    void onServiceConnected(ComponentName name, IBinder service);

    void onServiceDisconnected(ComponentName name);
}
