package android.content.pm;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Stand-in for Android's PackageManager (desktop tests only): the installed packages by name. */
public class PackageManager {
    /** Thrown for a package that is not installed (or not visible to the app). */
    public static class NameNotFoundException extends Exception {
        public NameNotFoundException(String name) {
            super(name);
        }
    }

    final Map<String, String> versions = new ConcurrentHashMap<>();

    /** Test hook: installs {@code pkg} with {@code versionName} (null uninstalls it). */
    public void install(String pkg, String versionName) {
        if (versionName == null) {
            versions.remove(pkg);
        } else {
            versions.put(pkg, versionName);
        }
    }

    public PackageInfo getPackageInfo(String packageName, int flags) throws NameNotFoundException {
        String v = versions.get(packageName);
        if (v == null) {
            throw new NameNotFoundException(packageName);
        }
        PackageInfo p = new PackageInfo();
        p.packageName = packageName;
        p.versionName = v;
        return p;
    }
}
