package android.content;

import android.content.pm.PackageManager;
import android.os.IBinder;
import android.os.RemoteException;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Minimal stand-in for Android's Context (desktop tests only). Each instance has its own
 * files directory (a fresh temp directory), as one app install would, its own installed
 * packages, and one face service (action {@code com.tencent.faceservice}) that a test can
 * kill and restart: a kill runs every death recipient linked to its binder and every
 * connection's {@code onServiceDisconnected}, as Android does when the face app's process
 * dies.
 */
public class Context {
    public static final int BIND_AUTO_CREATE = 1;
    static final String FACE_ACTION = "com.tencent.faceservice";
    static final String FACE_PACKAGE = "com.tencent.wxpayface";

    private final File filesDir;
    private final PackageManager packages = new PackageManager();
    private final List<ServiceConnection> connections = new CopyOnWriteArrayList<>();
    private volatile FaceBinder binder;

    public Context() {
        try {
            filesDir = Files.createTempDirectory("facepay-files").toFile();
            filesDir.deleteOnExit();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    public File getFilesDir() {
        return filesDir;
    }

    public PackageManager getPackageManager() {
        return packages;
    }

    /** Test hook: the face app installed with {@code versionName} and its service running. */
    public void installFaceApp(String versionName) {
        packages.install(FACE_PACKAGE, versionName);
        startFaceService();
    }

    /** Binds to the face service; connects at once when it runs (the real call is asynchronous). */
    public boolean bindService(Intent service, ServiceConnection conn, int flags) {
        if (!FACE_ACTION.equals(service.getAction()) || !FACE_PACKAGE.equals(service.getPackage())) {
            return false;
        }
        connections.add(conn);
        FaceBinder b = binder;
        if (b != null) {
            conn.onServiceConnected(component(), b);
        }
        return true;
    }

    public void unbindService(ServiceConnection conn) {
        connections.remove(conn);
    }

    /** Test hook: the face app's process dies. */
    public void killFaceService() {
        FaceBinder b = binder;
        binder = null;
        if (b == null) {
            return;
        }
        b.alive = false;
        for (IBinder.DeathRecipient r : b.recipients) {
            r.binderDied();
        }
        for (ServiceConnection c : connections) {
            c.onServiceDisconnected(component());
        }
    }

    /** Test hook: the face service runs (again); bound connections hear it. */
    public void startFaceService() {
        if (binder != null) {
            return;
        }
        FaceBinder b = new FaceBinder();
        binder = b;
        for (ServiceConnection c : connections) {
            c.onServiceConnected(component(), b);
        }
    }

    private static ComponentName component() {
        return new ComponentName(FACE_PACKAGE, "com.tencent.wxpayface.FaceService");
    }

    static final class FaceBinder implements IBinder {
        final List<DeathRecipient> recipients = new CopyOnWriteArrayList<>();
        volatile boolean alive = true;

        @Override
        public void linkToDeath(DeathRecipient recipient, int flags) throws RemoteException {
            if (!alive) {
                throw new RemoteException("DeadObjectException");
            }
            recipients.add(recipient);
        }

        @Override
        public boolean unlinkToDeath(DeathRecipient recipient, int flags) {
            return recipients.remove(recipient);
        }

        @Override
        public boolean isBinderAlive() {
            return alive;
        }
    }
}
